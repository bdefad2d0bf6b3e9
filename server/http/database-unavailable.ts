import { MongoNetworkError, MongoNotConnectedError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';

/**
 * Driver errors that mean "the database cannot be reached right now" (not "the request is wrong"):
 * a dropped or refused connection, no selectable server, a cleared pool, a closed client. The
 * request answers 503 and the client may retry (with its Idempotency-Key where it has one).
 */
const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
]);

/** Server-side codes of a node that is shutting down or stepping down (retry elsewhere or later). */
const UNAVAILABLE_CODES = new Set([91 /* ShutdownInProgress */, 189 /* PrimarySteppedDown */, 10107 /* NotWritablePrimary */, 11600 /* InterruptedAtShutdown */, 11602 /* InterruptedDueToReplStateChange */, 13435 /* NotPrimaryNoSecondaryOk */]);

/**
 * Server-side codes of a write that could not be made durable, or of a database that refuses writes
 * for now (a full or failing disk): the request answers 503, never an acknowledgement.
 */
const NOT_DURABLE_CODES = new Set([
  6 /* HostUnreachable */,
  7 /* HostNotFound */,
  50 /* MaxTimeMSExpired */,
  64 /* WriteConcernFailed (wtimeout) */,
  89 /* NetworkTimeout */,
  100 /* UnsatisfiableWriteConcern */,
  262 /* ExceededTimeLimit */,
  9001 /* SocketException */,
  11601 /* Interrupted */,
  14031 /* OutOfDiskSpace */,
]);

/** A write the database applied but could not confirm as durable (writeConcernError), or refused as not durable. */
export function isWriteNotDurable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'MongoWriteConcernError') return true;
    // InternalError is also other things; the embedded engine's failed journal write says so.
    if (typeof name === 'string' && name.startsWith('Mongo') && code === 1 && /journal/i.test(String((e as { message?: unknown }).message ?? ''))) return true;
    if (typeof name === 'string' && name.startsWith('Mongo') && typeof code === 'number' && NOT_DURABLE_CODES.has(code)) return true;
    if (typeof name === 'string' && name.startsWith('Mongo') && (e as { writeConcernError?: unknown }).writeConcernError) return true;
    if (name === 'MongoBulkWriteError' && (e as { result?: { getWriteConcernError?: () => unknown } }).result?.getWriteConcernError?.()) return true;
  }
  return false;
}

/**
 * Socket errors the driver sometimes lets through unwrapped (e.g. `EPIPE` "This socket has been
 * ended by the other party" when it writes a command to a connection the server just closed).
 * Counted only when raised inside the MongoDB driver, so an unrelated socket error stays a 500.
 */
const SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

function isDriverSocketError(e: { code?: unknown; stack?: unknown }): boolean {
  return typeof e.code === 'string' && SOCKET_CODES.has(e.code) && typeof e.stack === 'string' && /[\\/]mongodb[\\/]lib[\\/]/.test(e.stack);
}

/** Mongoose's own "no connection" errors (e.g. a command issued while the watchdog rebuilds the client). */
const MONGOOSE_NOT_CONNECTED = /before initial connection is complete|Connection was force closed|Client must be connected|not connected/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (isWriteNotDurable(err)) return true;
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError || e instanceof MongoNotConnectedError || e instanceof MongoTopologyClosedError) return true;
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
    if (typeof name === 'string' && name.startsWith('Mongo') && typeof code === 'number' && UNAVAILABLE_CODES.has(code)) return true;
    if (isDriverSocketError(e as { code?: unknown; stack?: unknown })) return true;
    const { message } = e as { message?: unknown };
    if (name === 'MongooseError' && typeof message === 'string' && MONGOOSE_NOT_CONNECTED.test(message)) return true;
  }
  return false;
}
