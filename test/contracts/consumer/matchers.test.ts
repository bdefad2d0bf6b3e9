/** The request-header patterns of the pacts accept exactly what the real client sends. */
import { describe, expect, it } from 'vitest';
import { signLicenseApiRequest } from '../../../client/index.js';
import { patterns } from '../support/matchers.js';
import { placeholderCredentials } from '../support/pact-setup.js';

describe('pact patterns', () => {
  it('match the Date and Authorization headers the client signs', () => {
    for (const at of ['2025-03-04T10:15:30Z', '2024-12-31T23:59:59Z', '2030-01-01T00:00:00Z']) {
      const signed = signLicenseApiRequest(placeholderCredentials.licenseApi, new Date(at).toUTCString());
      expect(signed.Date).toMatch(new RegExp(patterns.httpDate));
      expect(signed.Authorization).toMatch(new RegExp(patterns.licenseApiAuthorization));
    }
    expect('Tue, 4 Mar 2025 10:15:30 GMT').not.toMatch(new RegExp(patterns.httpDate));
    expect('algorithm="hmac-sha256",headers="date",signature="",apikey="k"').not.toMatch(new RegExp(patterns.licenseApiAuthorization));
  });

  it('match the keys, dates and content types the server writes', () => {
    expect('ABCD-EFGH-JKLM-NPQR').toMatch(new RegExp(patterns.licenseKey));
    expect(new Date().toISOString()).toMatch(new RegExp(patterns.isoDateTime));
    expect('application/json; charset=utf-8').toMatch(new RegExp(patterns.jsonContentType));
    expect('text/html').not.toMatch(new RegExp(patterns.jsonContentType));
  });
});
