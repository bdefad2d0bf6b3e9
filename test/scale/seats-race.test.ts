import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSeats } from '../support/seats.js';
import type { TestServer } from '../support/server.js';
import { activationBody, call, fingerprint } from '../v3/support.js';
import { expectError, licenseFor, startLicenseApiServer } from '../v4/fixtures.js';
import type { V4Client } from '../v4/signed-fetch.js';
import { featureTotals, managementLicense, tally } from './support.js';

/**
 * A site license with 5,000 seats: its limits stay exact under parallel requests when the license
 * has thousands of activations (seeded in bulk, then raced through the public APIs).
 */
/**
 * Time allowed per test: while a license document holds all its seats, every request on this license
 * reads and writes all 5,000 of them in this process (which also runs the engine), a few hundred
 * milliseconds each on a busy 2-core machine.
 */
const SLOW_MS = 120_000;

describe('a license with 5,000 seats', () => {
  let t: TestServer;
  let client: V4Client;

  beforeAll(async () => {
    ({ t, client } = await startLicenseApiServer());
  });
  afterAll(async () => t?.stop());

  const siteLicense = (seeded: number) =>
    licenseFor(t, { maxActivations: 5_000, features: [{ code: 'api-calls', max: 100 }] }, []).then(async (l) => ({ ...l, seats: await seedSeats(t.server.db, l.license, seeded) }));

  it('60 parallel activations of new devices (License API v4 and Web API v3) for its last 10 seats: exactly 10 accepted', async () => {
    const { license, ids } = await siteLicense(4_990);
    expect(await managementLicense(t, license.id)).toMatchObject({ max_activations: 5_000, times_activated: 4_990, total_active_devices: 4_990 });

    const v4HardwareIds = Array.from({ length: 30 }, (_, i) => `racing-v4-${i}`);
    const requests = Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0
        ? client.post('activate_license', { ...ids, hardware_id: v4HardwareIds[i / 2]! }).then((r) => ({ dialect: 'v4', ...r }))
        : call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations', activationBody(license, fingerprint(`racing-v3-${i}`))).then((r) => ({ dialect: 'v3', ...r })),
    );
    const responses = await Promise.all(requests);

    const v4 = responses.filter((r) => r.dialect === 'v4');
    const v3 = responses.filter((r) => r.dialect === 'v3');
    const v4Outcomes = tally(v4);
    const v3Outcomes = tally(v3);
    // Each dialect accepts with its own status and refuses with its own code; nothing else is answered.
    expect(Object.keys(v4Outcomes).filter((k) => k !== '200' && k !== '400 license_activated_max_times')).toEqual([]);
    expect(Object.keys(v3Outcomes).filter((k) => k !== '201' && k !== '400 ACTIVATION_LIMIT_REACHED')).toEqual([]);
    const accepted = (v4Outcomes['200'] ?? 0) + (v3Outcomes['201'] ?? 0);
    const refused = (v4Outcomes['400 license_activated_max_times'] ?? 0) + (v3Outcomes['400 ACTIVATION_LIMIT_REACHED'] ?? 0);
    expect({ accepted, refused }).toEqual({ accepted: 10, refused: 50 });
    for (const r of v4.filter((r) => r.status === 200)) expect(r.body).toMatchObject({ max_activations: 5_000 });

    expect(await managementLicense(t, license.id)).toMatchObject({ max_activations: 5_000, times_activated: 5_000, total_active_devices: 5_000 });
    // The devices accepted hold a seat, the refused ones none; a further device is refused.
    for (const [i, r] of v4.entries()) {
      const check = await client.get('check_license', { ...ids, hardware_id: v4HardwareIds[i]! });
      if (r.status === 200) expect(check.status).toBe(200);
      else expectError(check, 'device_not_found');
    }
    expectError(await client.post('activate_license', { ...ids, hardware_id: 'one-too-many' }), 'license_activated_max_times');
  }, SLOW_MS);

  it('120 parallel add_feature_consumption of 1 from 120 of its seats against a limit of 100 (no overages): exactly 100 accepted', async () => {
    const { license, ids, seats } = await siteLicense(5_000);
    const consumers = seats.slice(0, 120);
    const responses = await Promise.all(consumers.map((seat) => client.post('add_feature_consumption', { ...ids, hardware_id: seat.hardwareId, feature: 'api-calls' })));
    expect(tally(responses)).toEqual({ '200': 100, '400 feature_not_enough_consumptions': 20 });
    // Every accepted answer reports a different total: each is one step of 1 to 100.
    expect(responses.filter((r) => r.status === 200).map((r) => r.body.total_consumptions).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    const after = await managementLicense(t, license.id);
    expect(featureTotals(after)).toEqual({ 'api-calls': 100 });
    expect(after).toMatchObject({ times_activated: 5_000, total_active_devices: 5_000 });
    // The ledger has one entry of 1 for each accepted request, recorded against the device that made it.
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger.map((e) => [e.featureCode, e.amount])).toEqual(Array.from({ length: 100 }, () => ['api-calls', 1]));
    const acceptedDevices = consumers.filter((_, i) => responses[i]!.status === 200).map((s) => s.deviceId);
    expect(ledger.map((e) => e.deviceId).sort()).toEqual(acceptedDevices.sort());
  }, SLOW_MS);

  it('120 parallel Web API v3 meter attribute increments of 1 from 12 of its activations against 100 allowed uses: exactly 100 accepted', async () => {
    const { license, seats } = await siteLicense(5_000);
    const activations = seats.slice(0, 12).map((s) => s.activationId);
    const increment = (activationId: string) => call({ baseUrl: t.baseUrl }, 'POST', '/v3/activations/meter-attributes/api-calls', { increment: 1, activationId, accountId: '' });
    const responses = await Promise.all(Array.from({ length: 120 }, (_, i) => increment(activations[i % 12]!)));
    expect(tally(responses)).toEqual({ '200': 100, '400 METER_ATTRIBUTE_USES_LIMIT_REACHED': 20 });
    expect(responses.filter((r) => r.status === 200).map((r) => r.body.licenseTotalUses).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    // Each activation's own uses are the increments it had accepted, and they add up to the license total.
    const bearer = { baseUrl: t.baseUrl, token: t.credentials.v3AccessToken };
    for (const [n, activationId] of activations.entries()) {
      const accepted = responses.filter((r, i) => i % 12 === n && r.status === 200).length;
      const res = await call(bearer, 'GET', `/v3/activations/${activationId}`);
      expect(res.body.meterAttributes.find((m: { name: string }) => m.name === 'api-calls').uses).toBe(accepted);
    }
    expect(featureTotals(await managementLicense(t, license.id))).toEqual({ 'api-calls': 100 });
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger.map((e) => e.amount)).toEqual(Array.from({ length: 100 }, () => 1));
  }, SLOW_MS);
});
