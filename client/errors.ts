/**
 * Errors as the client reports them. The License API v4 and Management API v1 answer
 * `{status, code, message}` (lower_snake codes); the Web API v3 and the service endpoints answer
 * `{code, message}` (UPPER_SNAKE codes). `unwrap()` turns any non-2xx answer into a `LicensingApiError`.
 */
export type ApiDialect = 'v1' | 'v3' | 'v4' | 'service';

/**
 * The dialect of a path (`/api/v1/...`, `/api/v4/...`, `/v3/...`; anything else is a service endpoint).
 * Works on spec paths and on request URLs under a base URL with its own prefix.
 */
export function dialectOfPath(path: string): ApiDialect {
  if (/(^|\/)api\/v1(\/|$)/.test(path)) return 'v1';
  if (/(^|\/)api\/v4(\/|$)/.test(path)) return 'v4';
  if (/(^|\/)v3(\/|$)/.test(path)) return 'v3';
  return 'service';
}

/** A non-2xx answer of the API. `body` is the operation's typed error body when the server sent one. */
export class LicensingApiError<Body = unknown> extends Error {
  override readonly name = 'LicensingApiError';
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The error code exactly as sent (`feature_not_enough_consumptions`, `VALIDATION_FAILED`, ...); `unknown_error` when the body had none. */
  readonly code: string;
  readonly dialect: ApiDialect;
  /** The parsed error body (undefined when there was none or it was not JSON). */
  readonly body: Body | undefined;
  readonly response: Response;

  constructor(init: { status: number; code: string; message: string; dialect: ApiDialect; body: Body | undefined; response: Response }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.dialect = init.dialect;
    this.body = init.body;
    this.response = init.response;
  }
}

/** What every openapi-fetch call resolves to. */
export interface FetchResultLike<Data, ErrorBody> {
  data?: Data;
  error?: ErrorBody;
  response: Response;
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

/** Builds the typed error of a non-2xx answer from its (possibly missing or malformed) body. */
export function toLicensingApiError<ErrorBody>(response: Response, body: ErrorBody | undefined): LicensingApiError<ErrorBody> {
  const code = field(body, 'code');
  const message = field(body, 'message');
  return new LicensingApiError<ErrorBody>({
    status: response.status,
    code: typeof code === 'string' ? code : 'unknown_error',
    message: typeof message === 'string' ? message : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    dialect: dialectOfPath(new URL(response.url || 'http://unknown/').pathname),
    body,
    response,
  });
}

/**
 * The data of a successful call, or a thrown `LicensingApiError`. Success is decided by
 * `response.ok`, never by the absence of `error` (an empty error body is still an error).
 */
export function unwrap<Data, ErrorBody>(result: FetchResultLike<Data, ErrorBody>): Data {
  if (!result.response.ok) throw toLicensingApiError(result.response, result.error);
  return result.data as Data;
}

export function isLicensingApiError(err: unknown): err is LicensingApiError {
  return err instanceof LicensingApiError;
}
