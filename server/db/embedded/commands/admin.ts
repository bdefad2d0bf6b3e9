/** Handshake, diagnostics and session commands. The engine presents itself as a standalone mongod. */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { Long } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import type { Doc } from '../values.js';
import type { CommandContext, CommandHandler } from './context.js';

export const SERVER_VERSION = '7.0.0';
export const MAX_WIRE_VERSION = 21;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE_BYTES = 48_000_000;
export const MAX_WRITE_BATCH_SIZE = 100_000;

function helloReply(ctx: CommandContext, legacy: boolean): Doc {
  return {
    helloOk: true,
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.server.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
}

const MB = 2 ** 20;

/** serverStatus.mem as MongoDB reports it: resident and virtual size in MB. */
function memSection(): Doc {
  let virtual = 0;
  try {
    const m = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) virtual = Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return { bits: 64, resident: Math.round(process.memoryUsage.rss() / MB), virtual, supported: true };
}

/**
 * serverStatus.embeddedMemory (engine only, bytes): node's process.memoryUsage(), V8's heap
 * statistics and what the stored documents hold, to tell where the resident memory goes.
 */
function engineMemory(ctx: CommandContext): Doc {
  const usage = process.memoryUsage();
  const heap = v8.getHeapStatistics();
  let documents = 0;
  let slabBytes = 0;
  let liveBytes = 0;
  let cached = 0;
  for (const colls of ctx.catalog.dbs.values()) {
    for (const coll of colls.values()) {
      const s = coll.storageStats();
      documents += s.live;
      slabBytes += s.slabBytes;
      liveBytes += s.liveBytes;
      cached += s.cached;
    }
  }
  return {
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    mallocedMemory: heap.malloced_memory,
    peakMallocedMemory: heap.peak_malloced_memory,
    spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((sp) => [sp.space_name, { size: sp.space_size, used: sp.space_used_size }])),
    documents,
    slabBytes,
    liveBytes,
    cachedDocuments: cached,
  };
}

function dbSize(ctx: CommandContext, db: string): { collections: number; objects: number; indexes: number } {
  let objects = 0;
  let indexes = 0;
  const colls = ctx.catalog.collections(db);
  for (const c of colls) {
    objects += c.size;
    indexes += c.indexes.size + 1;
  }
  return { collections: colls.length, objects, indexes };
}

export const adminCommands: Record<string, CommandHandler> = {
  hello: (_cmd, ctx) => helloReply(ctx, false),
  isMaster: (_cmd, ctx) => helloReply(ctx, true),
  ismaster: (_cmd, ctx) => helloReply(ctx, true),
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({
    version: SERVER_VERSION,
    gitVersion: 'embedded',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ['embedded'],
    javascriptEngine: 'none',
    modules: [],
    ok: 1,
  }),
  getParameter: (cmd) => {
    const out: Doc = { ok: 1 };
    if (cmd.featureCompatibilityVersion !== undefined || cmd.getParameter === '*') {
      out.featureCompatibilityVersion = { version: '7.0' };
    }
    if (cmd.authenticationMechanisms !== undefined) out.authenticationMechanisms = [];
    return out;
  },
  setParameter: () => ({ was: null, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }),
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: 'localhost', numCores: 1 }, os: {}, extra: {}, ok: 1 }),
  whatsmyuri: () => ({ you: '127.0.0.1:0', ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  getFreeMonitoringStatus: () => ({ state: 'disabled', ok: 1 }),
  endSessions: () => ({ ok: 1 }),
  killSessions: () => ({ ok: 1 }),
  killAllSessions: () => ({ ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  startSession: () => ({
    id: { id: null },
    timeoutMinutes: 30,
    ok: 1,
  }),
  logout: () => ({ ok: 1 }),
  replSetGetStatus: () => fail(ErrorCodes.NoReplicationEnabled, 'not running with --replSet'),
  commitTransaction: () => fail(ErrorCodes.IllegalOperation, 'Transaction numbers are only allowed on a replica set member or mongos'),
  abortTransaction: () => fail(ErrorCodes.IllegalOperation, 'Transaction numbers are only allowed on a replica set member or mongos'),
  serverStatus: (_cmd, ctx) => ({
    host: `${ctx.server.host}:${ctx.server.port}`,
    version: SERVER_VERSION,
    process: 'mongod',
    pid: Long.fromNumber(process.pid),
    uptime: (Date.now() - ctx.server.startedAt.getTime()) / 1000,
    uptimeMillis: Long.fromNumber(Date.now() - ctx.server.startedAt.getTime()),
    localTime: new Date(),
    connections: { current: 0, available: 1000 },
    storageEngine: { name: 'embedded', persistent: ctx.server.persistent },
    durability: ctx.server.durability?.() ?? { writable: true, failures: 0 },
    mem: memSection(),
    metrics: { cursor: { open: { total: Long.fromNumber(ctx.cursors.size), noTimeout: Long.ZERO, pinned: Long.ZERO } } },
    embeddedMemory: engineMemory(ctx),
    ok: 1,
  }),
  dbStats: (_cmd, ctx) => {
    const s = dbSize(ctx, ctx.db);
    return { db: ctx.db, collections: s.collections, views: 0, objects: s.objects, indexes: s.indexes, dataSize: 0, storageSize: 0, totalSize: 0, scaleFactor: 1, ok: 1 };
  },
  listDatabases: (cmd, ctx) => {
    const names = [...ctx.catalog.dbs.keys()].sort();
    const databases = names.map((name) => {
      const s = dbSize(ctx, name);
      return cmd.nameOnly ? { name } : { name, sizeOnDisk: s.objects * 100 + 4096, empty: s.objects === 0 };
    });
    return cmd.nameOnly ? { databases, ok: 1 } : { databases, totalSize: databases.reduce((a, d) => a + ((d as { sizeOnDisk?: number }).sizeOnDisk ?? 0), 0), totalSizeMb: 0, ok: 1 };
  },
};
