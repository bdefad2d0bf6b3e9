import type { RequestHandler } from 'express';
import { dialectOfPath } from '../../../client/errors.js';
import { signLicenseApiRequest } from '../../../client/license-api-signature.js';
import { placeholderCredentials } from '../support/pact-setup.js';
import type { ProviderContext } from './state-handlers.js';

function authorizationParams(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g)) params[match[1]!] = match[2]!;
  return params;
}

/**
 * Gives each replayed request the credentials of the account the state handler just created: the
 * consumer's placeholder `Api-Key` and `Bearer` values are swapped for real ones, and a `/api/v4/`
 * request with the placeholder `apikey` gets a fresh `Date` and a real HMAC signature (the pact
 * holds only an example signature). A `/api/v4/` request with another key (a deliberately unknown
 * key in an error interaction) keeps its Authorization but gets a fresh `Date`, as the client would
 * send. Anything else (other credentials, the state-change calls) passes untouched.
 */
export function credentialsRequestFilter(ctx: ProviderContext): RequestHandler {
  return (req, _res, next) => {
    const authorization = req.headers.authorization;
    const real = ctx.current?.credentials;
    if (!authorization || !real) return next();
    switch (dialectOfPath(req.path)) {
      case 'v1':
        if (authorization === `Api-Key ${placeholderCredentials.managementApiKey}`) req.headers.authorization = `Api-Key ${real.managementApiKey}`;
        break;
      case 'v3':
        if (authorization === `Bearer ${placeholderCredentials.accessToken}`) req.headers.authorization = `Bearer ${real.v3AccessToken}`;
        break;
      case 'v4': {
        const { apikey } = authorizationParams(authorization);
        if (apikey === placeholderCredentials.licenseApi.apiKey) {
          const signed = signLicenseApiRequest({ apiKey: real.licenseApiKey, sharedKey: real.sharedKey });
          req.headers.date = signed.Date;
          req.headers.authorization = signed.Authorization;
        } else if (req.headers.date !== undefined) {
          // Another key (an error interaction): the client would have sent a fresh Date, so the
          // request is not refused for the pact's recorded (stale) one before its key is looked at.
          req.headers.date = new Date().toUTCString();
        }
        break;
      }
      case 'service':
        break;
    }
    next();
  };
}
