import type { ErrorRequestHandler } from 'express';
import { DomainError, type DomainErrorCode } from '../domain/errors.js';
import type { ApiError } from './api-error.js';

/** A dialect's answer to a domain error: status, dialect code and (when the dialect fixes it) message. */
export type ErrorAnswer = readonly [status: number, code: string, message?: string];

/**
 * A dialect's answers to every domain error code (each dialect's `errors.ts` holds one). The type is
 * total: a code added to DomainErrorCode and not answered by a dialect is a compile error. An answer
 * is fixed, or read from the error (e.g. the License API's scope-dependent codes).
 */
export type DomainErrorTable = { readonly [C in DomainErrorCode]: ErrorAnswer | ((err: DomainError) => ErrorAnswer) };

/** The answer `table` gives to `err`. */
export function answerOf(table: DomainErrorTable, err: DomainError): ErrorAnswer {
  const answer = table[err.code];
  return typeof answer === 'function' ? answer(err) : answer;
}

/** The error middleware each dialect's router ends with: domain errors in the dialect's terms, others unchanged. */
export function domainErrorTranslator(toApiError: (err: DomainError) => ApiError): ErrorRequestHandler {
  return (err, _req, _res, next) => {
    next(err instanceof DomainError ? toApiError(err) : err);
  };
}
