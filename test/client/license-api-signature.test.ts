import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { licenseApiSignature, signLicenseApiRequest } from '../../client/index.js';

// Fixed vector, computed outside this code base:
//   printf 'licenseSpring\ndate: Tue, 04 Mar 2025 10:15:30 GMT' \
//     | openssl dgst -sha256 -hmac 'shared-key-0123456789' -binary | base64
const date = 'Tue, 04 Mar 2025 10:15:30 GMT';
const sharedKey = 'shared-key-0123456789';
const expected = 'FBHPbMFAVN+7HW3gCYqjPhaM0xIt/pVWKq25Z10SGLo=';

describe('License API v4 request signing', () => {
  it('matches the fixed vector', () => {
    expect(licenseApiSignature(sharedKey, date)).toBe(expected);
    // and an independent node:crypto computation of the documented recipe
    expect(createHmac('sha256', sharedKey).update(`licenseSpring\ndate: ${date}`).digest('base64')).toBe(expected);
  });

  it('produces the documented Date and Authorization headers', () => {
    expect(signLicenseApiRequest({ apiKey: 'api-key-1', sharedKey }, date)).toEqual({
      Date: date,
      Authorization: `algorithm="hmac-sha256",headers="date",signature="${expected}",apikey="api-key-1"`,
    });
  });

  it('signs the current time in RFC 7231 GMT format by default', () => {
    const signed = signLicenseApiRequest({ apiKey: 'k', sharedKey });
    expect(signed.Date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(Math.abs(Date.parse(signed.Date) - Date.now())).toBeLessThan(5_000);
    expect(signed.Authorization).toContain(`signature="${licenseApiSignature(sharedKey, signed.Date)}"`);
  });
});
