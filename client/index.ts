/**
 * The typed client of the licensing API. Built on openapi-fetch over the types generated from the
 * bundled OpenAPI spec, so every operation of the spec has one typed call.
 */
export { createLicensingClient, type LicensingClient, type LicensingClientOptions } from './client.js';
export { authMiddleware, type AuthOptions } from './auth.js';
export { signLicenseApiRequest, licenseApiSignature, type LicenseApiCredentials, type LicenseApiSignatureHeaders } from './license-api-signature.js';
export { LicensingApiError, unwrap, toLicensingApiError, isLicensingApiError, dialectOfPath, type ApiDialect, type FetchResultLike } from './errors.js';
export { withIdempotencyKey } from './idempotency.js';
export { verifyWebhook, WebhookVerificationError, type VerifyWebhookInput, type WebhookSignatureScheme, type IncomingHeaders } from './webhooks.js';
export type { paths, components, operations } from '../generated/schema.js';
