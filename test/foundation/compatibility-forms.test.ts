import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { compatibilityForms } from '../../server/http/compatibility-forms.js';

/** The body after the middleware ran on a request to `path`. */
function normalised(path: string, body: unknown, method = 'POST'): unknown {
  const req = { method, path, body } as Request;
  compatibilityForms()(req, {} as Response, () => {});
  return req.body;
}

describe('compatibility forms (documented alternatives converted to the spec type before validation)', () => {
  it('license_id as digits becomes an integer on the v4 operations that take it', () => {
    expect(normalised('/api/v4/activate_license', { license_id: '42' })).toEqual({ license_id: 42 });
    expect(normalised('/api/v4/floating/feature_borrow/', { license_id: '7' })).toEqual({ license_id: 7 });
  });

  it('allow_overages 0/1 becomes false/true on add_consumption only', () => {
    expect(normalised('/api/v4/add_consumption', { allow_overages: 0 })).toEqual({ allow_overages: false });
    expect(normalised('/api/v4/add_consumption', { allow_overages: 1 })).toEqual({ allow_overages: true });
    expect(normalised('/api/v1/product-features/', { allow_overages: 1 })).toEqual({ allow_overages: 1 });
  });

  it('null on an optional create-license or create-feature field becomes left out', () => {
    expect(normalised('/api/v1/licenses/', { product: 1, validity_period: null, floating_timeout: null, consumption_period: null })).toEqual({ product: 1 });
    expect(normalised('/api/v1/product-features/', { consumption_period: null })).toEqual({});
    expect(normalised('/api/v1/licenses/', { license_key: null, max_activations: null })).toEqual({ max_activations: null });
  });

  it('a validity_period at midnight UTC becomes its date on license create and update; any other time is left', () => {
    for (const sent of ['2030-12-31T00:00:00', '2030-12-31T00:00', '2030-12-31T00:00:00.000', '2030-12-31T00:00:00Z', '2030-12-31T00:00:00+00:00', '2030-12-31T00:00:00.000000-0000']) {
      expect(normalised('/api/v1/licenses/', { validity_period: sent }), sent).toEqual({ validity_period: '2030-12-31' });
      expect(normalised('/api/v1/licenses/123/', { validity_period: sent }, 'PATCH'), sent).toEqual({ validity_period: '2030-12-31' });
    }
    for (const sent of ['2030-12-31T00:00:01', '2030-12-31T23:59:59Z', '2030-12-31T00:00:00+01:00', '2030-12-31 00:00:00', '2030-12-31', 20301231]) {
      expect(normalised('/api/v1/licenses/', { validity_period: sent }), String(sent)).toEqual({ validity_period: sent });
    }
  });

  it('leaves every other value, field, path and method as sent (the validator judges them)', () => {
    expect(normalised('/api/v4/add_consumption', { license_id: '12a', allow_overages: 2 })).toEqual({ license_id: '12a', allow_overages: 2 });
    expect(normalised('/api/v4/add_consumption', { license_id: '99999999999999999' })).toEqual({ license_id: '99999999999999999' });
    expect(normalised('/api/v4/add_consumption', { hardware_id: '42' })).toEqual({ hardware_id: '42' });
    expect(normalised('/api/v1/licenses/', { license_id: '42' })).toEqual({ license_id: '42' });
    expect(normalised('/api/v4/check_license', { license_id: '42' }, 'GET')).toEqual({ license_id: '42' });
  });
});
