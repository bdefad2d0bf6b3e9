/**
 * The three API dialects and the service endpoints, told apart by path prefix. The dialect decides
 * the error body: `{status, code, message}` (lower_snake codes) for the License and Management APIs,
 * `{code, message}` (UPPER_SNAKE codes) for the Web API v3 and the service endpoints.
 */
export type Dialect = 'v1' | 'v3' | 'v4' | 'service';

export function dialectOf(path: string): Dialect {
  if (path === '/api/v1' || path.startsWith('/api/v1/')) return 'v1';
  if (path === '/api/v4' || path.startsWith('/api/v4/')) return 'v4';
  if (path === '/v3' || path.startsWith('/v3/')) return 'v3';
  return 'service';
}

export interface LicenseApiErrorBody {
  status: number;
  code: string;
  message: string;
}

export interface WebApiErrorBody {
  code: string;
  message: string;
}

/** Renders an error in the dialect's documented error body. `code` is lower_snake. */
export function errorBody(dialect: Dialect, status: number, code: string, message: string): LicenseApiErrorBody | WebApiErrorBody {
  if (dialect === 'v1' || dialect === 'v4') return { status, code: code.toLowerCase(), message };
  return { code: code.toUpperCase(), message };
}
