import { describe, expect, it } from 'vitest';
import { DomainError, type DomainErrorCode } from '../../server/domain/errors.js';
import { toV1ApiError } from '../../server/http/v1/errors.js';
import { toV3ApiError } from '../../server/http/v3/errors.js';
import { toV4ApiError } from '../../server/http/v4/errors.js';
import { v4ErrorCodes } from '../docs/v4-errors.js';

type Answer = [status: number, code: string];

/**
 * What each dialect answers to every domain error code (status, code). The table is a total record:
 * a code added to DomainErrorCode does not compile until it is answered here and in every dialect.
 * `consumption_limit_reached` is shown for a feature; the license scope is checked below.
 */
const ANSWERS: Record<DomainErrorCode, { v1: Answer; v3: Answer; v4: Answer }> = {
  unauthenticated: { v1: [401, 'invalid_api_key'], v3: [401, 'authentication_failed'], v4: [400, 'invalid_api_key'] },
  forbidden: { v1: [403, 'permission_denied'], v3: [403, 'insufficient_scope'], v4: [400, 'api_key_product_not_allowed'] },
  invalid_input: { v1: [400, 'validation_failed'], v3: [400, 'validation_failed'], v4: [400, 'validation_error'] },
  invalid_webhook_url: { v1: [400, 'validation_failed'], v3: [400, 'invalid_webhook_url'], v4: [400, 'validation_error'] },
  webhook_not_found: { v1: [404, 'not_found'], v3: [404, 'not_found'], v4: [404, 'not_found'] },
  webhook_delivery_not_found: { v1: [404, 'not_found'], v3: [404, 'not_found'], v4: [404, 'not_found'] },
  product_not_found: { v1: [404, 'product_not_found'], v3: [400, 'invalid_license_key'], v4: [400, 'unknown_product'] },
  product_code_taken: { v1: [409, 'short_code_taken'], v3: [409, 'conflict'], v4: [409, 'short_code_taken'] },
  product_feature_not_found: { v1: [400, 'unknown_product_feature'], v3: [404, 'meter_attribute_not_found'], v4: [400, 'unsupported_product_feature'] },
  product_feature_code_taken: { v1: [409, 'feature_code_taken'], v3: [409, 'conflict'], v4: [409, 'feature_code_taken'] },
  feature_listed_twice: { v1: [400, 'duplicate_product_feature'], v3: [400, 'validation_failed'], v4: [400, 'validation_error'] },
  license_not_found: { v1: [404, 'license_not_found'], v3: [400, 'invalid_license_key'], v4: [400, 'license_not_found'] },
  license_key_taken: { v1: [409, 'license_key_taken'], v3: [409, 'conflict'], v4: [409, 'license_key_taken'] },
  license_disabled: { v1: [400, 'license_not_enabled'], v3: [400, 'revoked_license'], v4: [400, 'license_not_enabled'] },
  license_inactive: { v1: [400, 'license_not_active'], v3: [400, 'revoked_license'], v4: [400, 'license_not_active'] },
  license_expired: { v1: [400, 'license_expired'], v3: [400, 'license_expired'], v4: [400, 'license_expired'] },
  license_not_consumption: { v1: [400, 'license_not_consumption'], v3: [400, 'validation_failed'], v4: [400, 'license_not_consumption'] },
  feature_not_on_license: { v1: [400, 'unknown_product_feature'], v3: [404, 'meter_attribute_not_found'], v4: [400, 'unsupported_product_feature'] },
  feature_expired: { v1: [400, 'license_feature_expired'], v3: [400, 'meter_attribute_expired'], v4: [400, 'license_feature_expired'] },
  device_not_found: { v1: [404, 'device_not_found'], v3: [404, 'not_found'], v4: [400, 'device_not_found'] },
  device_blacklisted: { v1: [400, 'blacklisted'], v3: [400, 'activation_blacklisted'], v4: [400, 'blacklisted'] },
  activation_not_found: { v1: [404, 'device_not_found'], v3: [404, 'not_found'], v4: [400, 'device_not_found'] },
  activation_limit_reached: { v1: [400, 'license_activation_limit_reached'], v3: [400, 'activation_limit_reached'], v4: [400, 'license_activated_max_times'] },
  floating_seat_unavailable: { v1: [400, 'floating_not_available'], v3: [400, 'activation_limit_reached'], v4: [400, 'floating_not_available'] },
  license_not_floating: { v1: [400, 'license_not_floating'], v3: [400, 'validation_failed'], v4: [400, 'license_not_floating'] },
  borrow_not_allowed: { v1: [400, 'license_borrow_not_allowed'], v3: [400, 'validation_failed'], v4: [400, 'license_borrow_not_allowed'] },
  borrow_until_invalid: { v1: [400, 'borrow_until_not_valid'], v3: [400, 'validation_failed'], v4: [400, 'borrow_until_not_valid'] },
  feature_not_floating: { v1: [400, 'feature_not_floating'], v3: [400, 'validation_failed'], v4: [400, 'feature_not_floating'] },
  feature_slot_not_held: { v1: [400, 'floating_feature_device_not_in_use'], v3: [404, 'not_found'], v4: [400, 'floating_feature_device_not_in_use'] },
  fingerprint_mismatch: { v1: [404, 'device_not_found'], v3: [400, 'machine_fingerprint_mismatch'], v4: [400, 'device_not_found'] },
  consumption_limit_reached: { v1: [400, 'feature_not_enough_consumptions'], v3: [400, 'meter_attribute_uses_limit_reached'], v4: [400, 'feature_not_enough_consumptions'] },
  negative_consumption_not_allowed: { v1: [400, 'negative_consumptions_not_allowed'], v3: [400, 'meter_attribute_uses_below_zero'], v4: [400, 'negative_consumptions_not_allowed'] },
  consumption_below_zero: { v1: [400, 'negative_consumptions_not_allowed'], v3: [400, 'meter_attribute_uses_below_zero'], v4: [400, 'negative_consumptions_not_allowed'] },
  idempotency_key_reused: { v1: [409, 'idempotency_key_reused'], v3: [409, 'idempotency_key_reused'], v4: [409, 'idempotency_key_reused'] },
  concurrent_modification: { v1: [409, 'concurrent_modification'], v3: [409, 'conflict'], v4: [409, 'concurrent_modification'] },
  trial_not_allowed: { v1: [400, 'trial_not_allowed'], v3: [400, 'trial_not_allowed'], v4: [400, 'trial_not_allowed'] },
  trial_expired: { v1: [400, 'trial_expired'], v3: [400, 'trial_expired'], v4: [400, 'trial_expired'] },
  not_found: { v1: [404, 'not_found'], v3: [404, 'not_found'], v4: [404, 'not_found'] },
  license_user_email_taken: { v1: [409, 'license_user_email_taken'], v3: [409, 'conflict'], v4: [409, 'license_user_email_taken'] },
  license_user_limit_reached: { v1: [400, 'max_license_users_reached'], v3: [400, 'validation_failed'], v4: [400, 'max_license_users_reached'] },
};

const DIALECTS = { v1: toV1ApiError, v3: toV3ApiError, v4: toV4ApiError };
const answerOf = (translate: (err: DomainError) => { status: number; code: string }, err: DomainError): Answer => {
  const { status, code } = translate(err);
  return [status, code];
};

describe('every domain error code has one answer in each dialect', () => {
  for (const [dialect, translate] of Object.entries(DIALECTS)) {
    it.each(Object.entries(ANSWERS))(`${dialect}: %s`, (code, answers) => {
      const err = new DomainError(code as DomainErrorCode, 'message', { scope: 'feature' });
      expect(answerOf(translate, err)).toEqual(answers[dialect as keyof typeof DIALECTS]);
    });
  }

  it('a consumption limit of the license itself has its own License and Management API code', () => {
    const err = new DomainError('consumption_limit_reached', 'Not enough consumptions left', { scope: 'license' });
    expect(answerOf(toV4ApiError, err)).toEqual([400, 'license_not_enough_consumptions']);
    expect(answerOf(toV1ApiError, err)).toEqual([400, 'license_not_enough_consumptions']);
    expect(answerOf(toV3ApiError, err)).toEqual([400, 'meter_attribute_uses_limit_reached']);
  });

  it('keeps the dialects\' messages: v3 names the field of a validation error, v4 fixes the vendor\'s wording', () => {
    expect(toV3ApiError(new DomainError('invalid_input', 'is too large', { field: 'increment' })).message).toBe('body.increment is too large');
    expect(toV3ApiError(new DomainError('license_expired', 'The license has expired', { field: 'x' })).message).toBe('The license has expired');
    expect(toV4ApiError(new DomainError('product_not_found', 'anything')).message).toBe('Provided product was not found');
    expect(toV4ApiError(new DomainError('license_not_found', 'License not found')).message).toBe('License not found');
    expect(toV1ApiError(new DomainError('license_not_found', 'License not found')).message).toBe('License not found');
  });

  // `forbidden`, the three taken-codes and the two license-user codes (Management API conflicts and limits) are raised by no License API route.
  it('every License API answer a License API route can give is a code of the spec (V4Error enum)', () => {
    const codes = new Set(v4ErrorCodes());
    const answered = Object.keys(ANSWERS).map((code) => toV4ApiError(new DomainError(code as DomainErrorCode, 'm', { scope: 'license' })).code);
    expect(answered.filter((code) => !codes.has(code))).toEqual(['api_key_product_not_allowed', 'short_code_taken', 'feature_code_taken', 'license_key_taken', 'license_user_email_taken', 'max_license_users_reached']);
  });
});
