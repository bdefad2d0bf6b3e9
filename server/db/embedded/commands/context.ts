/** Shared types and argument helpers for command handlers. */
import type { CursorRegistry } from '../cursors.js';
import { ErrorCodes, fail } from '../errors.js';
import type { Catalog } from '../storage/catalog.js';
import { isPlainObject, toNumber, type Doc } from '../values.js';

export interface ServerInfo {
  connectionId: number;
  startedAt: Date;
  /** Whether the engine persists to disk. */
  persistent: boolean;
  host: string;
  port: number;
  /** `{ writable, lastError?, failedSince?, failures }` of the journal (see README, Durability). */
  durability?: () => Doc;
}

export interface CommandContext {
  catalog: Catalog;
  cursors: CursorRegistry;
  /** Target database (`$db`). */
  db: string;
  server: ServerInfo;
}

/** A command handler runs synchronously to completion: no other command interleaves with it. */
export type CommandHandler = (cmd: Doc, ctx: CommandContext) => Doc;

export function stringArg(cmd: Doc, field: string): string {
  const v = cmd[field];
  if (typeof v !== 'string' || v.length === 0) {
    fail(ErrorCodes.InvalidNamespace, `collection name has invalid type ${v === undefined ? 'missing' : typeof v}`);
  }
  return v;
}

export function optionalDoc(cmd: Doc, field: string): Doc | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) fail(ErrorCodes.TypeMismatch, `BSON field '${field}' is the wrong type '${typeof v}', expected type 'object'`);
  return v;
}

export function optionalNumber(cmd: Doc, field: string): number | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = toNumber(v);
  if (Number.isNaN(n)) fail(ErrorCodes.TypeMismatch, `BSON field '${field}' is the wrong type, expected a number`);
  return n;
}

/** An optional numeric field that mongod's IDL validates as `>= 0` (code 51024 otherwise). */
export function nonNegative(cmd: Doc, field: string): number | undefined {
  const v = optionalNumber(cmd, field);
  if (v !== undefined && v < 0) fail(ErrorCodes.Location51024, `BSON field '${field}' value must be >= 0, actual value '${v}'`);
  return v;
}

export function docArray(cmd: Doc, field: string): Doc[] {
  const v = cmd[field];
  if (!Array.isArray(v)) fail(ErrorCodes.TypeMismatch, `BSON field '${field}' is missing or is not an array`);
  for (const el of v) {
    if (!isPlainObject(el)) fail(ErrorCodes.TypeMismatch, `BSON field '${field}' must contain objects`);
  }
  return v as Doc[];
}

export function writeErrorOf(index: number, err: { code: number; message: string; extra?: Doc }): Doc {
  return { index, code: err.code, errmsg: err.message, ...(err.extra ?? {}) };
}
