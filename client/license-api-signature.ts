import { createHmac } from 'node:crypto';

/** The headers a License API v4 request carries: `Date` and the signed `Authorization`. */
export interface LicenseApiSignatureHeaders {
  Date: string;
  Authorization: string;
}

export interface LicenseApiCredentials {
  /** The account's License API key (sent in clear as `apikey`). */
  apiKey: string;
  /** The account's shared key (never sent; keys the HMAC). */
  sharedKey: string;
}

/** `base64(HMAC-SHA256(sharedKey, "licenseSpring\ndate: " + date))`. */
export function licenseApiSignature(sharedKey: string, date: string): string {
  return createHmac('sha256', sharedKey).update(`licenseSpring\ndate: ${date}`).digest('base64');
}

/**
 * The `Date` and `Authorization` headers of a License API v4 request. `date` defaults to now in the
 * RFC 7231 GMT format (`new Date().toUTCString()`); the server accepts it within 15 minutes of its time.
 */
export function signLicenseApiRequest(credentials: LicenseApiCredentials, date: string = new Date().toUTCString()): LicenseApiSignatureHeaders {
  const signature = licenseApiSignature(credentials.sharedKey, date);
  return {
    Date: date,
    Authorization: `algorithm="hmac-sha256",headers="date",signature="${signature}",apikey="${credentials.apiKey}"`,
  };
}
