/** Collection and index management: create, drop, dropDatabase, listCollections, *Indexes. */
import { Long } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import { compileFilter } from '../query/planner.js';
import { validateNames } from '../storage/catalog.js';
import { keyString, isPlainObject, type Doc } from '../values.js';
import { docArray, stringArg, type CommandContext, type CommandHandler } from './context.js';

function cursorReply(ns: string, firstBatch: Doc[]): Doc {
  return { cursor: { id: Long.ZERO, ns, firstBatch }, ok: 1 };
}

function collectionInfo(ctx: CommandContext, name: string): Doc {
  const coll = ctx.catalog.getCollection(ctx.db, name)!;
  return {
    name,
    type: 'collection',
    options: coll.options,
    info: { readOnly: false, uuid: coll.uuid },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  };
}

const CREATE_OPTION_FIELDS = new Set([
  'capped',
  'size',
  'max',
  'validator',
  'validationLevel',
  'validationAction',
  'collation',
  'storageEngine',
  'indexOptionDefaults',
  'timeseries',
  'expireAfterSeconds',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'viewOn',
  'pipeline',
  'comment',
]);

export const ddlCommands: Record<string, CommandHandler> = {
  create: (cmd, ctx) => {
    const name = stringArg(cmd, 'create');
    if (cmd.viewOn !== undefined) fail(ErrorCodes.CommandNotSupported, 'views are not supported by the embedded engine');
    if (cmd.timeseries !== undefined) fail(ErrorCodes.CommandNotSupported, 'time-series collections are not supported by the embedded engine');
    const options: Doc = {};
    for (const [k, v] of Object.entries(cmd)) if (CREATE_OPTION_FIELDS.has(k) && k !== 'comment') options[k] = v;
    const existing = ctx.catalog.getCollection(ctx.db, name);
    if (existing) {
      if (keyString(existing.options) === keyString(options)) {
        fail(ErrorCodes.NamespaceExists, `Collection ${ctx.db}.${name} already exists.`);
      }
      fail(ErrorCodes.NamespaceExists, `namespace ${ctx.db}.${name} already exists, but with different options`);
    }
    ctx.catalog.createCollection(ctx.db, name, options);
    return { ok: 1 };
  },

  drop: (cmd, ctx) => {
    const name = stringArg(cmd, 'drop');
    const coll = ctx.catalog.dropCollection(ctx.db, name);
    if (!coll) return { ok: 1 };
    return { nIndexesWas: coll.indexes.size + 1, ns: coll.ns, ok: 1 };
  },

  dropDatabase: (_cmd, ctx) => {
    validateNames(ctx.db);
    ctx.catalog.dropDatabase(ctx.db);
    return { dropped: ctx.db, ok: 1 };
  },

  listCollections: (cmd, ctx) => {
    const filter = isPlainObject(cmd.filter) ? cmd.filter : {};
    const matches = compileFilter(filter);
    const infos = ctx.catalog
      .collections(ctx.db)
      .map((c) => collectionInfo(ctx, c.name))
      .filter((info) => matches(info))
      .map((info) => (cmd.nameOnly ? { name: info.name, type: info.type } : info));
    return cursorReply(`${ctx.db}.$cmd.listCollections`, infos);
  },

  renameCollection: (cmd, ctx) => {
    const from = String(cmd.renameCollection ?? '');
    const to = String(cmd.to ?? '');
    const [fromDb, ...fromRest] = from.split('.');
    const [toDb, ...toRest] = to.split('.');
    const fromName = fromRest.join('.');
    const toName = toRest.join('.');
    if (!fromDb || !fromName || !toDb || !toName) fail(ErrorCodes.InvalidNamespace, 'Invalid namespace specified');
    const source = ctx.catalog.getCollection(fromDb, fromName);
    if (!source) fail(ErrorCodes.NamespaceNotFound, 'Source collection does not exist');
    if (ctx.catalog.getCollection(toDb, toName)) {
      if (!cmd.dropTarget) fail(ErrorCodes.NamespaceExists, 'target namespace exists');
      ctx.catalog.dropCollection(toDb, toName);
    }
    const target = ctx.catalog.createCollection(toDb, toName, source.options);
    for (const spec of source.indexSpecs().slice(1)) target.createIndex(spec);
    for (const doc of source.all()) target.insert(doc);
    ctx.catalog.dropCollection(fromDb, fromName);
    return { ok: 1 };
  },

  collMod: (cmd, ctx) => {
    const name = stringArg(cmd, 'collMod');
    if (!ctx.catalog.getCollection(ctx.db, name)) fail(ErrorCodes.NamespaceNotFound, `ns does not exist: ${ctx.db}.${name}`);
    return { ok: 1 };
  },

  createIndexes: (cmd, ctx) => {
    const name = stringArg(cmd, 'createIndexes');
    const specs = docArray(cmd, 'indexes');
    if (specs.length === 0) fail(ErrorCodes.BadValue, 'Must specify at least one index to create');
    const { coll, created } = ctx.catalog.ensureCollection(ctx.db, name);
    const before = coll.indexes.size + 1;
    let createdAny = false;
    for (const spec of specs) if (coll.createIndex(spec)) createdAny = true;
    const reply: Doc = {
      numIndexesBefore: before,
      numIndexesAfter: coll.indexes.size + 1,
      createdCollectionAutomatically: created,
      ok: 1,
    };
    if (!createdAny) reply.note = 'all indexes already exist';
    return reply;
  },

  listIndexes: (cmd, ctx) => {
    const name = stringArg(cmd, 'listIndexes');
    const coll = ctx.catalog.getCollection(ctx.db, name);
    if (!coll) fail(ErrorCodes.NamespaceNotFound, `ns does not exist: ${ctx.db}.${name}`);
    return cursorReply(coll.ns, coll.indexSpecs().map((s) => ({ ...s })));
  },

  dropIndexes: (cmd, ctx) => {
    const name = stringArg(cmd, 'dropIndexes');
    const coll = ctx.catalog.getCollection(ctx.db, name);
    if (!coll) fail(ErrorCodes.NamespaceNotFound, `ns not found ${ctx.db}.${name}`);
    const was = coll.indexes.size + 1;
    const index = cmd.index;
    if (index === '*') {
      for (const n of [...coll.indexes.keys()]) coll.dropIndex(n);
    } else if (typeof index === 'string') {
      coll.dropIndex(index);
    } else if (Array.isArray(index)) {
      for (const n of index) {
        if (!coll.indexes.has(String(n))) fail(ErrorCodes.IndexNotFound, `index not found with name [${String(n)}]`);
      }
      for (const n of index) coll.dropIndex(String(n));
    } else if (isPlainObject(index)) {
      const ix = coll.findIndexByKey(index);
      if (!ix) {
        if (keyString(index) === keyString({ _id: 1 })) fail(ErrorCodes.InvalidOptions, 'cannot drop _id index');
        fail(ErrorCodes.IndexNotFound, `can't find index with key: ${JSON.stringify(index)}`);
      }
      coll.dropIndex(ix.name);
    } else {
      fail(ErrorCodes.TypeMismatch, 'index must be a string, array of strings or an object');
    }
    return { nIndexesWas: was, ok: 1 };
  },
};
ddlCommands.deleteIndexes = ddlCommands.dropIndexes!;
