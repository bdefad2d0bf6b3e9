/**
 * The aggregate command, evaluated by mingo. A leading $match goes through the query planner
 * (so it can use indexes); $out is handled here; $merge and change streams are not supported.
 */
import { Long } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import { runPipeline, withCollectionResolver } from '../query/mingo.js';
import { pipelineFields } from '../query/pipeline-fields.js';
import { findMatching } from '../query/planner.js';
import { FieldSelection } from '../storage/docstore.js';
import { cloneValue, isPlainObject, keyString, queryView, restoreTypes, toNumber, viewOf, type Doc } from '../values.js';
import { nonNegative, type CommandHandler } from './context.js';
import { prepareInsert } from './write.js';

/** Stages that never modify the documents they receive, so inputs need no defensive copy. */
const READ_ONLY_STAGES = new Set(['$match', '$sort', '$limit', '$skip', '$count', '$group', '$bucket', '$sortByCount', '$project']);

const UNSUPPORTED_STAGES = new Set(['$merge', '$changeStream', '$currentOp', '$listSessions', '$indexStats', '$collStats', '$search', '$geoNear', '$planCacheStats']);

/**
 * mingo computes on query views (Int64/Decimal128 as plain numbers). Output documents that still
 * carry an input document's `_id` get the stored numeric types back where values are unchanged.
 */
function restoreStoredTypes(input: Doc[], views: Doc[], results: Doc[]): Doc[] {
  const wrapped = input.map((d, i) => [d, views[i]!] as const).filter(([d, view]) => view !== d);
  if (wrapped.length === 0) return results;
  const byId = new Map(wrapped.map((pair) => [keyString(pair[0]._id), pair]));
  return results.map((r) => {
    if (r._id === undefined) return r;
    const pair = byId.get(keyString(r._id));
    if (!pair) return r;
    if (r === pair[1]) return pair[0];
    return restoreTypes(pair[0], cloneValue(r), true) as Doc;
  });
}

/**
 * mongod's checks of `$limit` and `$skip` (mingo's differ): a number; `$limit` a positive one
 * (so `countDocuments(filter, { limit: 0 })`, which sends `$limit: 0`, fails on MongoDB too).
 */
function checkLimitAndSkip(stage: Doc): void {
  for (const name of ['$limit', '$skip'] as const) {
    if (!(name in stage)) continue;
    const n = toNumber(stage[name]);
    if (Number.isNaN(n)) {
      fail(name === '$limit' ? 15957 : 15972, name === '$limit' ? 'the limit must be specified as a number' : 'Argument to $skip must be a number');
    }
    if (n < 0 || !Number.isInteger(n)) {
      fail(name === '$limit' ? 5107201 : 5107200, `invalid argument to ${name} stage: Expected a non-negative number in: ${name}: ${n}`);
    }
    if (name === '$limit' && n === 0) fail(15958, 'the limit must be positive');
  }
}

export const aggregateCommands: Record<string, CommandHandler> = {
  aggregate: (cmd, ctx) => {
    const target = cmd.aggregate;
    const pipeline = cmd.pipeline;
    if (!Array.isArray(pipeline)) fail(ErrorCodes.TypeMismatch, "'pipeline' option must be specified as an array");
    const stages = pipeline as Doc[];
    for (const stage of stages) {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
        fail(ErrorCodes.Location40324, 'A pipeline stage specification object must contain exactly one field.');
      }
      const name = Object.keys(stage)[0]!;
      if (UNSUPPORTED_STAGES.has(name)) fail(ErrorCodes.CommandNotSupported, `${name} is not supported by the embedded engine`);
      checkLimitAndSkip(stage);
    }
    if (cmd.explain === true) {
      return { queryPlanner: { namespace: `${ctx.db}.${String(target)}`, winningPlan: { stage: 'COLLSCAN' } }, ok: 1 };
    }
    const cursorOpt = cmd.cursor;
    if (!isPlainObject(cursorOpt)) {
      fail(ErrorCodes.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
    }
    const batchSize = nonNegative(cursorOpt, 'batchSize');

    let out: { db: string; coll: string } | undefined;
    const last = stages[stages.length - 1];
    let body = stages;
    if (last && '$out' in last) {
      const spec = last.$out;
      if (typeof spec === 'string') out = { db: ctx.db, coll: spec };
      else if (isPlainObject(spec) && typeof spec.coll === 'string') out = { db: typeof spec.db === 'string' ? spec.db : ctx.db, coll: spec.coll };
      else fail(ErrorCodes.BadValue, '$out requires a collection name');
      body = stages.slice(0, -1);
    }

    let input: Doc[] = [];
    let ns: string;
    let fields: FieldSelection | undefined;
    if (target === 1 || target === 1.0) {
      ns = `${ctx.db}.$cmd.aggregate`;
    } else {
      if (typeof target !== 'string' || !target) fail(ErrorCodes.InvalidNamespace, 'aggregate requires a collection name or 1');
      ns = `${ctx.db}.${target}`;
      const coll = ctx.catalog.getCollection(ctx.db, target);
      const first = body[0];
      const leading = first && isPlainObject(first.$match) ? first.$match : undefined;
      if (leading) body = body.slice(1);
      // Only the fields the pipeline can observe are decoded (none of the documents is written).
      const observed = pipelineFields(leading, body);
      fields = observed ? new FieldSelection(observed) : undefined;
      if (leading) input = findMatching(coll, leading, { fields });
      else input = coll ? [...coll.all(fields)] : [];
    }
    const readOnly = body.every((s) => READ_ONLY_STAGES.has(Object.keys(s)[0]!));
    const views = input.map(viewOf(fields !== undefined));
    const source = readOnly ? views : views.map((v) => cloneValue(v));
    const resolver = (name: string): Doc[] => {
      const c = ctx.catalog.getCollection(ctx.db, name);
      return c ? [...c.all()].map((d) => cloneValue(queryView(d))) : [];
    };
    let results = body.length ? withCollectionResolver(resolver, () => runPipeline(source, body)) : source;
    results = restoreStoredTypes(input, views, results);

    if (out) {
      ctx.catalog.dropCollection(out.db, out.coll);
      const { coll } = ctx.catalog.ensureCollection(out.db, out.coll);
      for (const doc of results) coll.insert(prepareInsert(cloneValue(doc)));
      return { cursor: { firstBatch: [], id: Long.ZERO, ns }, ok: 1 };
    }

    const { batch, id } = ctx.cursors.open({ ns, docs: results }, batchSize);
    return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
  },
};
