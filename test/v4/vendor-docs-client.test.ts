/**
 * A License API client written from the vendor's public pages alone (docs.licensespring.com:
 * *License API → Authorization* for the signature, the per-endpoint pages for paths, field names and
 * error codes), with nothing of this repository's client or server code: it signs with node:crypto,
 * sends the vendor's field names and branches on the vendor's codes. It runs the session an
 * application runs (activate → check → product details → trial → consume → deactivate) and fails on
 * any status or field the vendor documents that the server does not give.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

interface VendorAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** The vendor's request signing: base64 HMAC-SHA256 of "licenseSpring\ndate: <Date>" with the shared key. */
function vendorClient(baseUrl: string, apiKey: string, sharedKey: string) {
  async function call(method: 'GET' | 'POST', endpoint: string, params: Record<string, string | number | boolean>): Promise<VendorAnswer> {
    const date = new Date().toUTCString();
    const signature = createHmac('sha256', sharedKey).update(`licenseSpring\ndate: ${date}`).digest('base64');
    const headers: Record<string, string> = {
      Date: date,
      Authorization: `algorithm="hmac-sha256",headers="date",signature="${signature}",apikey="${apiKey}"`,
    };
    let url = `${baseUrl}/api/v4/${endpoint}`;
    let body: string | undefined;
    if (method === 'GET') url += `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`;
    else {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(params);
    }
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') || text.startsWith('"') ? JSON.parse(text) : text };
  }
  return { get: (e: string, q: Record<string, string | number | boolean>) => call('GET', e, q), post: (e: string, b: Record<string, string | number | boolean>) => call('POST', e, b) };
}

/** Fields the vendor's activate/check pages show in their example answers and a client reads. */
const LICENSE_FIELDS = [
  'id', 'license_key', 'license_type', 'is_trial', 'license_enabled', 'license_active', 'is_expired', 'active', 'max_activations', 'times_activated',
  'validity_period', 'max_consumptions', 'total_consumptions', 'allow_overages', 'max_overages', 'allow_unlimited_consumptions',
  'reset_consumption', 'consumption_period', 'product_details', 'product_features', 'is_floating', 'is_floating_cloud',
  'floating_timeout', 'license_signature', 'license_signature_v2', 'transfer_count', 'max_transfers', 'customer', 'custom_fields',
];

describe('a License API client written from the vendor documentation only', () => {
  let t: TestServer;
  let vendor: ReturnType<typeof vendorClient>;
  let shortCode: string;
  let licenseKey: string;

  beforeAll(async () => {
    t = await startTestServer();
    vendor = vendorClient(t.baseUrl, t.credentials.licenseApiKey, t.credentials.sharedKey);
    const management = async (path: string, body: unknown) => {
      const res = await fetch(`${t.baseUrl}/api/v1/${path}`, {
        method: 'POST',
        headers: { authorization: `Api-Key ${t.credentials.managementApiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as Record<string, unknown>;
    };
    const product = await management('products/', { product_name: 'Docs app', short_code: 'docsapp', allow_trial: true, trial_days: 7 });
    shortCode = product.short_code as string;
    const license = await management('licenses/', { product: product.id, license_type: 'consumption', max_activations: 2, max_consumptions: 10 });
    licenseKey = license.license_key as string;
  });
  afterAll(async () => t?.stop());

  it('activates, checks, reads the product, gets a trial, consumes and deactivates with the documented fields and codes', async () => {
    const ids = { product: shortCode, license_key: licenseKey, hardware_id: 'docs-machine-1' };

    // A license never activated answers the vendor's license_not_active.
    const early = await vendor.get('check_license', ids);
    expect(early).toMatchObject({ status: 400, body: { code: 'license_not_active' } });

    const activated = await vendor.post('activate_license', ids);
    expect(activated.status).toBe(200);
    for (const field of LICENSE_FIELDS) expect(activated.body, field).toHaveProperty(field);
    expect(activated.body).toMatchObject({ license_key: licenseKey, license_type: 'consumption', active: true, times_activated: 1, max_consumptions: 10, total_consumptions: 0 });
    expect(activated.body.product_details).toMatchObject({ short_code: shortCode, product_name: 'Docs app' });

    const checked = await vendor.get('check_license', ids);
    expect(checked.status).toBe(200);
    for (const field of LICENSE_FIELDS) expect(checked.body, field).toHaveProperty(field);

    const details = await vendor.get('product_details', { product: shortCode });
    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({ short_code: shortCode, product_name: 'Docs app', allow_trial: true, trial_days: 7 });

    const trial = await vendor.get('trial_key', { product: shortCode, hardware_id: 'docs-machine-2' });
    expect(trial.status).toBe(200);
    expect(trial.body).toMatchObject({ is_trial: true });
    expect(typeof trial.body.license_key).toBe('string');
    const trialIds = { product: shortCode, license_key: trial.body.license_key as string, hardware_id: 'docs-machine-2' };
    const trialActivated = await vendor.post('activate_license', trialIds);
    expect(trialActivated.status).toBe(200);
    expect(trialActivated.body).toMatchObject({ is_trial: true, license_key: trial.body.license_key });
    const sameTrial = await vendor.get('trial_key', { product: shortCode, hardware_id: 'docs-machine-2' });
    expect(sameTrial.body.license_key).toBe(trial.body.license_key);

    const consumed = await vendor.post('add_consumption', { ...ids, consumptions: 4 });
    expect(consumed.status).toBe(200);
    expect(consumed.body).toMatchObject({ total_consumptions: 4, max_consumptions: 10 });
    const over = await vendor.post('add_consumption', { ...ids, consumptions: 7 });
    expect(over.status).toBe(400);
    expect(over.body.code).toBe('license_not_enough_consumptions');
    expect((await vendor.get('check_license', ids)).body.total_consumptions).toBe(4);

    const deactivated = await vendor.post('deactivate_license', ids);
    expect(deactivated.status).toBe(200);
    const afterwards = await vendor.get('check_license', ids);
    expect(afterwards.status).toBe(400);
    expect(afterwards.body.code).toBe('device_not_found');

    // The codes the vendor's error list gives for a client's mistakes.
    expect((await vendor.post('activate_license', { ...ids, product: 'nope' })).body.code).toBe('unknown_product');
    expect((await vendor.post('activate_license', { ...ids, license_key: 'AAAA-BBBB-CCCC-DDDD' })).body.code).toBe('license_not_found');
    const { hardware_id: _omitted, ...withoutHardware } = ids;
    const missing = await vendor.post('activate_license', withoutHardware);
    expect(missing).toMatchObject({ status: 400, body: { code: 'missing_parameters' } });
    expect(missing.body.message).toContain('hardware_id');
    const unsigned = await fetch(`${t.baseUrl}/api/v4/check_license?${new URLSearchParams(ids)}`, { headers: { Date: new Date().toUTCString() } });
    expect(unsigned.status).toBe(400);
    expect(((await unsigned.json()) as { code: string }).code).toBe('hmac_required');
  });
});
