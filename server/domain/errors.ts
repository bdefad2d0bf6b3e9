/**
 * Errors of the domain, in dialect-neutral terms. Each HTTP adapter translates a code to its
 * dialect's status and error code (e.g. `consumption_limit_reached` on a feature is
 * `feature_not_enough_consumptions` in the License API and `METER_ATTRIBUTE_USES_LIMIT_REACHED`
 * in the Web API v3). Each dialect's `errors.ts` answers every code in a total table: a code added
 * here without an answer in every dialect does not compile.
 */
export type DomainErrorCode =
  | 'unauthenticated'
  | 'invalid_webhook_url'
  | 'webhook_not_found'
  | 'webhook_delivery_not_found'
  | 'forbidden'
  | 'invalid_input'
  | 'product_not_found'
  | 'product_code_taken'
  | 'product_feature_not_found'
  | 'product_feature_code_taken'
  | 'feature_listed_twice'
  | 'license_not_found'
  | 'license_key_taken'
  | 'license_disabled'
  | 'license_inactive'
  | 'license_expired'
  | 'license_not_consumption'
  | 'feature_not_on_license'
  | 'feature_expired'
  | 'device_not_found'
  | 'device_blacklisted'
  | 'activation_not_found'
  | 'activation_limit_reached'
  | 'floating_seat_unavailable'
  | 'license_not_floating'
  | 'borrow_not_allowed'
  | 'borrow_until_invalid'
  | 'feature_not_floating'
  | 'feature_slot_not_held'
  | 'fingerprint_mismatch'
  | 'consumption_limit_reached'
  | 'negative_consumption_not_allowed'
  | 'consumption_below_zero'
  | 'idempotency_key_reused'
  | 'concurrent_modification'
  | 'trial_not_allowed'
  | 'trial_expired'
  | 'not_found'
  | 'license_user_email_taken'
  | 'license_user_limit_reached';

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /**
     * Extra facts for adapters, in domain terms: e.g. `{ scope: 'feature' }`; `field` names the input
     * at fault as the use case's input type names it (`maxActivations`, `amount`), and each adapter
     * shows it under its own wire name (the Web API v3's `body.<field>`, see http/v3/mappers.ts).
     */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isDomainError(err: unknown, code?: DomainErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}
