import type { RequestHandler, Response } from 'express';
import { isDomainError } from '../../domain/errors.js';
import type { AccountService } from '../../domain/accounts.js';
import type { Account } from '../../domain/types.js';
import { ApiError } from '../api-error.js';

const API_KEY_HEADER = /^Api-Key +(\S{1,512})$/i;

/**
 * `Authorization: Api-Key <management key>`. Missing header: 401 `authentication_required`; another
 * scheme or a malformed value: 401 `invalid_authorization_header`; an unknown key: 401 `invalid_api_key`.
 */
export function requireManagementKey(accounts: Pick<AccountService, 'authenticateManagementKey'>): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') {
      throw new ApiError(401, 'authentication_required', 'Send the management API key as "Authorization: Api-Key <key>"');
    }
    const match = API_KEY_HEADER.exec(header.trim());
    if (!match) throw new ApiError(401, 'invalid_authorization_header', 'The Authorization header must be "Api-Key <key>"');
    try {
      res.locals.account = await accounts.authenticateManagementKey(match[1]!);
    } catch (err) {
      if (isDomainError(err, 'unauthenticated')) throw new ApiError(401, 'invalid_api_key', 'Invalid management API key');
      throw err;
    }
    next();
  };
}

/** The account the request authenticated as. */
export function accountOf(res: Response): Account {
  return res.locals.account as Account;
}
