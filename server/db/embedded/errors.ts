/** MongoDB-style command errors: `{ ok: 0, code, codeName, errmsg }`. */

export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  DollarPrefixedFieldName: 52,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  NoReplicationEnabled: 76,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CommandNotSupported: 115,
  InvalidPipelineOperator: 168,
  OperationNotSupportedInTransaction: 263,
  Location40324: 40324,
  Location40415: 40415,
  Location51024: 51024,
  BSONObjectTooLarge: 10334,
  DuplicateKey: 11000,
  OutOfDiskSpace: 14031,
} as const;

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ErrorCodes).map(([name, code]) => [code, name]),
);

export function codeName(code: number): string {
  return CODE_NAMES[code] ?? 'UnknownError';
}

/** An error that is reported to the client as a MongoDB command or write error. */
export class MongoCommandError extends Error {
  readonly code: number;
  readonly extra: Record<string, unknown>;
  constructor(code: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }
  get codeName(): string {
    return codeName(this.code);
  }
}

export function fail(code: number, message: string, extra?: Record<string, unknown>): never {
  throw new MongoCommandError(code, message, extra);
}

/** Converts anything thrown (including mingo's errors) into a MongoCommandError. */
export function toCommandError(err: unknown): MongoCommandError {
  if (err instanceof MongoCommandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.constructor.name : '';
  if (name === 'MingoError' || /operator|pipeline|expression|Invalid|must be|expects|requires/i.test(message)) {
    let m = /unknown (?:query |top level )?operator:? '?(\$\w+)'?/i.exec(message);
    if (m) return new MongoCommandError(ErrorCodes.BadValue, `unknown operator: ${m[1]}`);
    m = /(?:unknown|unregistered) pipeline operator:? '?(\$\w+)'?/i.exec(message);
    if (m) return new MongoCommandError(ErrorCodes.Location40324, `Unrecognized pipeline stage name: '${m[1]}'`);
    m = /(?:unknown (?:expression |accumulator |projection |window )?operator:? '?(\$\w+)'?)|(?:accumulator '(\$\w+)' is not registered)/i.exec(message);
    if (m) return new MongoCommandError(ErrorCodes.InvalidPipelineOperator, `Unrecognized expression '${m[1] ?? m[2]}'`);
    return new MongoCommandError(ErrorCodes.BadValue, message);
  }
  return new MongoCommandError(ErrorCodes.InternalError, message);
}

export function errorReply(err: MongoCommandError): Record<string, unknown> {
  return { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName, ...err.extra };
}
