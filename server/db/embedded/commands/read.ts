/** Read commands: find, getMore, killCursors, count, distinct. */
import { Long } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import { pathValues } from '../query/paths.js';
import { describePlan, findMatching } from '../query/planner.js';
import { RawDocument } from '../cursors.js';
import { compileProjection, IDENTITY } from '../query/projection.js';
import { sortDocs, parseSort } from '../query/sort.js';
import type { Collection } from '../storage/collection.js';
import { isPlainObject, keyString, type Doc } from '../values.js';
import { nonNegative, optionalDoc, optionalNumber, stringArg, type CommandHandler } from './context.js';

export interface QueryShape {
  filter?: Doc | undefined;
  sort?: Doc | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
}

/** Filter + sort + skip + limit over a collection. */
export function runQuery(coll: Collection | undefined, q: QueryShape): Doc[] {
  const skip = Math.max(0, q.skip ?? 0);
  const limit = Math.abs(q.limit ?? 0);
  const hasSort = parseSort(q.sort).length > 0;
  let docs = findMatching(coll, q.filter, hasSort ? { sorted: limit ? { sort: q.sort, count: skip + limit } : undefined } : { limit: limit ? skip + limit : 0 });
  if (hasSort) docs = sortDocs(docs, q.sort);
  if (skip) docs = docs.slice(skip);
  if (limit) docs = docs.slice(0, limit);
  return docs;
}

function cursorIdArg(v: unknown): Long {
  if (typeof v === 'number') return Long.fromNumber(v);
  if (typeof v === 'bigint') return Long.fromBigInt(v);
  if (v && typeof v === 'object' && (v as { _bsontype?: string })._bsontype === 'Long') return v as Long;
  return fail(ErrorCodes.TypeMismatch, 'cursor id must be a 64-bit integer');
}

export const readCommands: Record<string, CommandHandler> = {
  find: (cmd, ctx) => {
    const name = stringArg(cmd, 'find');
    const filter = optionalDoc(cmd, 'filter') ?? {};
    const sort = optionalDoc(cmd, 'sort');
    const projection = compileProjection(optionalDoc(cmd, 'projection'));
    // The find command's limit, skip and batchSize are non-negative (a negative limit is the
    // drivers' spelling of singleBatch, converted before it is sent); singleBatch closes the cursor
    // after the first batch, whose size is still batchSize (default 101).
    const limit = nonNegative(cmd, 'limit') ?? 0;
    const skip = nonNegative(cmd, 'skip') ?? 0;
    const batchSize = nonNegative(cmd, 'batchSize');
    const singleBatch = cmd.singleBatch === true;
    const coll = ctx.catalog.getCollection(ctx.db, name);
    const docs = runQuery(coll, { filter, sort, skip, limit });
    const ns = `${ctx.db}.${name}`;
    // Without a projection, documents go out as the bytes they are stored as (when still current).
    const map =
      projection === IDENTITY && coll
        ? (d: Doc) => {
            const bytes = coll.storedBytes(d);
            return bytes ? new RawDocument(bytes) : d;
          }
        : (d: Doc) => projection.apply(d, filter);
    const { batch, id } = ctx.cursors.open({ ns, docs, map }, batchSize, singleBatch);
    return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
  },

  getMore: (cmd, ctx) => {
    const id = cursorIdArg(cmd.getMore);
    const cursor = ctx.cursors.get(id);
    if (!cursor) fail(ErrorCodes.CursorNotFound, `cursor id ${id.toString()} not found`);
    const ns = `${ctx.db}.${typeof cmd.collection === 'string' ? cmd.collection : ''}`;
    if (ns !== cursor.ns) {
      fail(ErrorCodes.Unauthorized, `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
    }
    const { batch, id: nextId } = ctx.cursors.next(cursor, nonNegative(cmd, 'batchSize'));
    return { cursor: { nextBatch: batch, id: nextId, ns: cursor.ns }, ok: 1 };
  },

  killCursors: (cmd, ctx) => {
    const ids = Array.isArray(cmd.cursors) ? cmd.cursors : [];
    const killed: unknown[] = [];
    const notFound: unknown[] = [];
    for (const raw of ids) {
      const id = cursorIdArg(raw);
      (ctx.cursors.kill(id) ? killed : notFound).push(id);
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  },

  count: (cmd, ctx) => {
    const name = stringArg(cmd, 'count');
    const coll = ctx.catalog.getCollection(ctx.db, name);
    const query = optionalDoc(cmd, 'query') ?? {};
    const skip = nonNegative(cmd, 'skip') ?? 0;
    const limit = optionalNumber(cmd, 'limit') ?? 0;
    let n: number;
    if (Object.keys(query).length === 0) {
      n = Math.max(0, (coll?.size ?? 0) - skip);
      if (limit) n = Math.min(n, Math.abs(limit));
    } else {
      n = runQuery(coll, { filter: query, skip, limit }).length;
    }
    return { n, ok: 1 };
  },

  distinct: (cmd, ctx) => {
    const name = stringArg(cmd, 'distinct');
    const key = cmd.key;
    if (typeof key !== 'string' || !key) fail(ErrorCodes.TypeMismatch, "BSON field 'distinct.key' is missing or not a string");
    const coll = ctx.catalog.getCollection(ctx.db, name);
    const docs = runQuery(coll, { filter: optionalDoc(cmd, 'query') ?? {} });
    const seen = new Set<string>();
    const values: unknown[] = [];
    for (const doc of docs) {
      for (const v of pathValues(doc, key, true)) {
        if (v === undefined) continue;
        const k = keyString(v);
        if (seen.has(k)) continue;
        seen.add(k);
        values.push(v);
      }
    }
    return { values, ok: 1 };
  },

  explain: (cmd, ctx) => {
    const inner = cmd.explain;
    if (!isPlainObject(inner)) fail(ErrorCodes.FailedToParse, 'explain command requires a nested object');
    const name = Object.keys(inner)[0] ?? '';
    const collName = typeof inner[name] === 'string' ? (inner[name] as string) : '';
    let filter: Doc | undefined;
    if (name === 'find' || name === 'count') filter = optionalDoc(inner, name === 'find' ? 'filter' : 'query');
    else if (name === 'findAndModify' || name === 'findandmodify') filter = optionalDoc(inner, 'query');
    else if (name === 'update' && Array.isArray(inner.updates)) filter = (inner.updates[0] as Doc | undefined)?.q as Doc | undefined;
    else if (name === 'delete' && Array.isArray(inner.deletes)) filter = (inner.deletes[0] as Doc | undefined)?.q as Doc | undefined;
    else if (name === 'aggregate' && Array.isArray(inner.pipeline)) {
      const first = inner.pipeline[0] as Doc | undefined;
      filter = first && isPlainObject(first.$match) ? first.$match : undefined;
    } else if (name === 'distinct') filter = optionalDoc(inner, 'query');
    else fail(ErrorCodes.CommandNotSupported, `explain is not supported for '${name}'`);
    const coll = ctx.catalog.getCollection(ctx.db, collName);
    return {
      queryPlanner: {
        namespace: `${ctx.db}.${collName}`,
        parsedQuery: filter ?? {},
        winningPlan: describePlan(coll, filter),
        rejectedPlans: [],
      },
      ok: 1,
    };
  },
};
