/**
 * Write commands: insert, update, delete, findAndModify. Each statement is applied synchronously
 * (find → compute new version → unique checks → swap), so no other command can observe or
 * interleave with a half-applied write.
 */
import { ObjectId } from 'bson';
import { ErrorCodes, MongoCommandError, fail, toCommandError } from '../errors.js';
import { findMatching } from '../query/planner.js';
import { compileProjection } from '../query/projection.js';
import { sortDocs, parseSort } from '../query/sort.js';
import type { Collection } from '../storage/collection.js';
import { applyUpdate, classifyUpdate, type UpdateSpec } from '../update/apply.js';
import { upsertSeed } from '../update/upsert.js';
import { exactEqual, isPlainObject, type Doc } from '../values.js';
import { docArray, optionalDoc, stringArg, writeErrorOf, type CommandContext, type CommandHandler } from './context.js';

/**
 * mongod's check of an `_id` document (and the documents and arrays inside it): no `$`-prefixed
 * field names, except a DBRef's leading `$ref` (a string) and `$id`, with an optional `$db` string.
 */
function validateIdEmbedded(value: Doc | unknown[]): void {
  if (Array.isArray(value)) {
    for (const v of value) if (isPlainObject(v) || Array.isArray(v)) validateIdEmbedded(v);
    return;
  }
  const keys = Object.keys(value);
  const dbRef = keys[0] === '$ref' && typeof value.$ref === 'string' && keys[1] === '$id';
  keys.forEach((k, i) => {
    const allowed = dbRef && (i < 2 || (i === 2 && k === '$db' && typeof value.$db === 'string'));
    if (k.startsWith('$') && !allowed) {
      fail(ErrorCodes.DollarPrefixedFieldName, `_id fields may not contain '$'-prefixed fields: ${k} is not valid for storage.`);
    }
    const v = value[k];
    if (isPlainObject(v) || Array.isArray(v)) validateIdEmbedded(v);
  });
}

/**
 * Prepares a document for insertion: `_id` first (generated when missing) and validated. Since
 * MongoDB 5.0 `$`-prefixed field names may be stored, at the top level too; not inside `_id`.
 */
export function prepareInsert(doc: Doc): Doc {
  const id = doc._id;
  if (Array.isArray(id)) fail(ErrorCodes.BadValue, `The '_id' value cannot be of type array`);
  if (id instanceof RegExp) fail(ErrorCodes.BadValue, `can't use a regex for _id`);
  if (isPlainObject(id)) validateIdEmbedded(id);
  if (id === undefined) {
    return { _id: new ObjectId(), ...doc };
  }
  if (Object.keys(doc)[0] === '_id') return doc;
  const out: Doc = { _id: id };
  for (const k of Object.keys(doc)) if (k !== '_id') out[k] = doc[k];
  return out;
}

/**
 * The fields mongod 7.0 knows in an update / delete statement (its IDL structs are strict: any
 * other field fails the whole command with 40415). `sort` in an update statement came in 8.0.
 */
const UPDATE_STATEMENT_FIELDS = new Set(['q', 'u', 'c', 'arrayFilters', 'hint', 'multi', 'upsert', 'upsertSupplied', 'collation', 'sampleId']);
const DELETE_STATEMENT_FIELDS = new Set(['q', 'limit', 'hint', 'collation', 'sampleId']);

function checkStatementFields(statements: Doc[], known: Set<string>, path: string): void {
  for (const st of statements) {
    for (const k of Object.keys(st)) {
      if (!known.has(k)) fail(ErrorCodes.Location40415, `BSON field '${path}.${k}' is an unknown field.`);
    }
  }
}

function runOrdered<T>(items: T[], ordered: boolean, fn: (item: T, i: number) => void): Doc[] {
  const errors: Doc[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      fn(items[i]!, i);
    } catch (err) {
      const e = toCommandError(err);
      errors.push(writeErrorOf(i, e));
      if (ordered) break;
    }
  }
  return errors;
}

export interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  /** The document before and after (single-document updates only). */
  before?: Doc | undefined;
  after?: Doc | undefined;
}

export interface UpdateStatement {
  filter: Doc;
  update: UpdateSpec;
  upsert: boolean;
  multi: boolean;
  arrayFilters?: Doc[] | undefined;
  /** findAndModify only (an update statement has none on 7.0). */
  sort?: Doc | undefined;
}

/** Applies one update statement. Throws (without partial effects on the failing doc) on error. */
export function applyUpdateStatement(ctx: CommandContext, collName: string, st: UpdateStatement): UpdateOutcome {
  const coll = ctx.catalog.getCollection(ctx.db, collName);
  if (st.multi && st.update.kind === 'replace') {
    fail(ErrorCodes.FailedToParse, 'multi update is not supported for replacement-style update');
  }
  let matches: Doc[];
  if (st.sort && parseSort(st.sort).length > 0) {
    matches = sortDocs(findMatching(coll, st.filter), st.sort);
    if (!st.multi) matches = matches.slice(0, 1);
  } else {
    matches = findMatching(coll, st.filter, { limit: st.multi ? 0 : 1 });
  }
  if (matches.length === 0) {
    if (!st.upsert) return { matched: 0, modified: 0 };
    const target = coll ?? ctx.catalog.ensureCollection(ctx.db, collName).coll;
    const seed = upsertSeed(st.filter);
    let doc: Doc;
    if (st.update.kind === 'replace') {
      doc = applyUpdate(seed._id === undefined ? {} : { _id: seed._id }, st.update, { filter: st.filter, isInsert: true });
    } else {
      doc = applyUpdate(seed, st.update, { filter: st.filter, arrayFilters: st.arrayFilters, isInsert: true });
    }
    doc = prepareInsert(doc);
    target.insert(doc);
    return { matched: 0, modified: 0, upsertedId: doc._id, after: doc };
  }
  const ctxU = { filter: st.filter, arrayFilters: st.arrayFilters, isInsert: false };
  let modified = 0;
  let before: Doc | undefined;
  let after: Doc | undefined;
  for (const doc of matches) {
    const next = applyUpdate(doc, st.update, ctxU);
    before = doc;
    after = doc;
    if (!exactEqual(doc, next)) {
      (coll as Collection).replace(doc, next);
      after = next;
      modified++;
    }
  }
  return { matched: matches.length, modified, before, after };
}

export const writeCommands: Record<string, CommandHandler> = {
  insert: (cmd, ctx) => {
    const name = stringArg(cmd, 'insert');
    const docs = docArray(cmd, 'documents');
    const ordered = cmd.ordered !== false;
    const { coll } = ctx.catalog.ensureCollection(ctx.db, name);
    let n = 0;
    const writeErrors = runOrdered(docs, ordered, (doc) => {
      coll.insert(prepareInsert(doc));
      n++;
    });
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  },

  update: (cmd, ctx) => {
    const name = stringArg(cmd, 'update');
    const updates = docArray(cmd, 'updates');
    checkStatementFields(updates, UPDATE_STATEMENT_FIELDS, 'update.updates');
    const ordered = cmd.ordered !== false;
    let n = 0;
    let nModified = 0;
    const upserted: Doc[] = [];
    const writeErrors = runOrdered(updates, ordered, (u, index) => {
      const filter = u.q;
      if (!isPlainObject(filter)) fail(ErrorCodes.TypeMismatch, "BSON field 'update.updates.q' is missing or not an object");
      const result = applyUpdateStatement(ctx, name, {
        filter,
        update: classifyUpdate(u.u),
        upsert: u.upsert === true,
        multi: u.multi === true,
        arrayFilters: Array.isArray(u.arrayFilters) ? (u.arrayFilters as Doc[]) : undefined,
      });
      if (result.upsertedId !== undefined) {
        n += 1;
        upserted.push({ index, _id: result.upsertedId });
      } else {
        n += result.matched;
        nModified += result.modified;
      }
    });
    const reply: Doc = { n, nModified };
    if (upserted.length) reply.upserted = upserted;
    if (writeErrors.length) reply.writeErrors = writeErrors;
    reply.ok = 1;
    return reply;
  },

  delete: (cmd, ctx) => {
    const name = stringArg(cmd, 'delete');
    const deletes = docArray(cmd, 'deletes');
    checkStatementFields(deletes, DELETE_STATEMENT_FIELDS, 'delete.deletes');
    const ordered = cmd.ordered !== false;
    let n = 0;
    const writeErrors = runOrdered(deletes, ordered, (d) => {
      const filter = d.q;
      if (!isPlainObject(filter)) fail(ErrorCodes.TypeMismatch, "BSON field 'delete.deletes.q' is missing or not an object");
      const limit = Number(d.limit ?? 0);
      if (limit !== 0 && limit !== 1) fail(ErrorCodes.BadValue, 'The limit field in delete objects must be 0 or 1');
      const coll = ctx.catalog.getCollection(ctx.db, name);
      if (!coll) return;
      const matches = findMatching(coll, filter, { limit });
      for (const doc of matches) coll.remove(doc);
      n += matches.length;
    });
    return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  },

  findAndModify: (cmd, ctx) => {
    const name = stringArg(cmd, 'findAndModify');
    const filter = optionalDoc(cmd, 'query') ?? {};
    const sort = optionalDoc(cmd, 'sort');
    const projection = compileProjection(optionalDoc(cmd, 'fields'));
    const remove = cmd.remove === true;
    const returnNew = cmd.new === true;
    const upsert = cmd.upsert === true;
    if (remove && cmd.update !== undefined) fail(ErrorCodes.FailedToParse, 'Cannot specify both an update and remove=true');
    if (!remove && cmd.update === undefined) fail(ErrorCodes.FailedToParse, 'Either an update or remove=true must be specified');
    if (remove && (upsert || returnNew)) fail(ErrorCodes.FailedToParse, 'Cannot specify both upsert=true and remove=true');
    const project = (d: Doc | undefined | null) => (d ? projection.apply(d, filter) : null);

    if (remove) {
      const coll = ctx.catalog.getCollection(ctx.db, name);
      let docs = findMatching(coll, filter, { limit: sort ? 0 : 1 });
      if (sort) docs = sortDocs(docs, sort);
      const doc = docs[0];
      if (!doc || !coll) return { lastErrorObject: { n: 0 }, value: null, ok: 1 };
      coll.remove(doc);
      return { lastErrorObject: { n: 1 }, value: project(doc), ok: 1 };
    }

    const result = applyUpdateStatement(ctx, name, {
      filter,
      update: classifyUpdate(cmd.update),
      upsert,
      multi: false,
      arrayFilters: Array.isArray(cmd.arrayFilters) ? (cmd.arrayFilters as Doc[]) : undefined,
      sort,
    });
    if (result.upsertedId !== undefined) {
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: result.upsertedId },
        value: returnNew ? project(result.after) : null,
        ok: 1,
      };
    }
    if (result.matched === 0) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: project(returnNew ? result.after : result.before),
      ok: 1,
    };
  },
};
writeCommands.findandmodify = writeCommands.findAndModify!;

export { MongoCommandError };
