/**
 * An error an HTTP adapter answers with: status, a dialect code (lower_snake; the v3 dialect renders
 * it UPPER_SNAKE) and a message safe to show to the caller. Optional headers (e.g. Retry-After).
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
