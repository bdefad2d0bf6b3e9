import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { activate, activationBody, call, claimsOf, fingerprint, seedV3License, seedV3Product, subscribeToAllEvents, type Client } from './support.js';

/** PATCH /v3/activations/{id} exactly as seed 001. */
describe('Web API v3: update an activation', () => {
  let t: TestServer;
  let client: Client;
  let license: Awaited<ReturnType<typeof seedV3License>>;
  let fp: string;
  let aid: string;

  beforeAll(async () => {
    t = await startTestServer();
    client = { baseUrl: t.baseUrl };
    const { productId } = await seedV3Product(t.services, t.account.id);
    license = await seedV3License(t.services, t.account.id, productId);
    fp = fingerprint('update');
    aid = await activate(t, license, fp);
  });
  afterAll(async () => t?.stop());

  const base = () => activationBody(license, fp);
  const patch = (body: unknown, id = aid) => call(client, 'PATCH', `/v3/activations/${id}`, body);
  const get = (id = aid) => call({ ...client, token: t.credentials.v3AccessToken }, 'GET', `/v3/activations/${id}`);
  const uses = async (name: string) => (await get()).body.meterAttributes.find((m: { name: string }) => m.name === name).uses as number;

  const long = (n: number) => 'a'.repeat(n);
  const without = (field: string) => {
    const body: Record<string, unknown> = base();
    delete body[field];
    return body;
  };
  const cases: Array<[string, string, () => unknown]> = [
    ['os missing', 'os', () => without('os')],
    ['os outside the enum', 'os', () => ({ ...base(), os: 'solaris' })],
    ['osVersion over 256', 'osVersion', () => ({ ...base(), osVersion: long(257) })],
    ['fingerprint missing', 'fingerprint', () => without('fingerprint')],
    ['fingerprint under 64', 'fingerprint', () => ({ ...base(), fingerprint: long(63) })],
    ['fingerprint over 1024', 'fingerprint', () => ({ ...base(), fingerprint: long(1025) })],
    ['vmName over 256', 'vmName', () => ({ ...base(), vmName: long(257) })],
    ['container not a boolean', 'container', () => ({ ...base(), container: 'yes' })],
    ['hostname missing', 'hostname', () => without('hostname')],
    ['hostname empty', 'hostname', () => ({ ...base(), hostname: '' })],
    ['hostname over 1024', 'hostname', () => ({ ...base(), hostname: long(1025) })],
    ['userHash missing', 'userHash', () => without('userHash')],
    ['userHash empty', 'userHash', () => ({ ...base(), userHash: '' })],
    ['userHash over 256', 'userHash', () => ({ ...base(), userHash: long(257) })],
    ['productId missing', 'productId', () => without('productId')],
    ['productId empty', 'productId', () => ({ ...base(), productId: '' })],
    ['productId over 256', 'productId', () => ({ ...base(), productId: long(257) })],
    ['accountId missing', 'accountId', () => without('accountId')],
    ['accountId over 256', 'accountId', () => ({ ...base(), accountId: long(257) })],
    ['releaseVersion x', 'releaseVersion', () => ({ ...base(), releaseVersion: '1' })],
    ['releaseVersion x.x.x.x.x', 'releaseVersion', () => ({ ...base(), releaseVersion: '1.2.3.4.5' })],
    ['releaseVersion not numeric', 'releaseVersion', () => ({ ...base(), releaseVersion: 'v1.2' })],
    ['releaseVersion over 256', 'releaseVersion', () => ({ ...base(), releaseVersion: `1.${'2'.repeat(256)}` })],
    ['releaseChannel over 256', 'releaseChannel', () => ({ ...base(), releaseChannel: long(257) })],
    ['releasePlatform over 256', 'releasePlatform', () => ({ ...base(), releasePlatform: long(257) })],
    ['releasePublishedAt not a date-time', 'releasePublishedAt', () => ({ ...base(), releasePublishedAt: '2019-08-24' })],
    ['key missing', 'key', () => without('key')],
    ['key empty', 'key', () => ({ ...base(), key: '' })],
    ['key over 256', 'key', () => ({ ...base(), key: long(257) })],
    ['userId over 256', 'userId', () => ({ ...base(), userId: long(257) })],
    ['leaseDuration below -1', 'leaseDuration', () => ({ ...base(), leaseDuration: -2 })],
    ['leaseDuration not an integer', 'leaseDuration', () => ({ ...base(), leaseDuration: 1.5 })],
    ['leaseDuration a string', 'leaseDuration', () => ({ ...base(), leaseDuration: '60' })],
    ['metadata not an array', 'metadata', () => ({ ...base(), metadata: { key: 'a', value: 'b' } })],
    ['metadata key empty', 'metadata/0/key', () => ({ ...base(), metadata: [{ key: '', value: 'v' }] })],
    ['metadata key over 256', 'metadata/0/key', () => ({ ...base(), metadata: [{ key: long(257), value: 'v' }] })],
    ['metadata value over 4096', 'metadata/0/value', () => ({ ...base(), metadata: [{ key: 'k', value: long(4097) }] })],
    ['metadata value missing', 'metadata/0/value', () => ({ ...base(), metadata: [{ key: 'k' }] })],
    ['meterAttributes name missing', 'meterAttributes/0/name', () => ({ ...base(), meterAttributes: [{ usesIncrement: 1 }] })],
    ['meterAttributes name empty', 'meterAttributes/0/name', () => ({ ...base(), meterAttributes: [{ name: '', usesIncrement: 1 }] })],
    ['meterAttributes name over 256', 'meterAttributes/0/name', () => ({ ...base(), meterAttributes: [{ name: long(257), usesIncrement: 1 }] })],
    ['meterAttributes usesIncrement missing', 'meterAttributes/0/usesIncrement', () => ({ ...base(), meterAttributes: [{ name: 'api-calls' }] })],
    ['meterAttributes usesIncrement fractional', 'meterAttributes/0/usesIncrement', () => ({ ...base(), meterAttributes: [{ name: 'api-calls', usesIncrement: 0.5 }] })],
    ['deviceId not a uuid', 'deviceId', () => ({ ...base(), deviceId: 'not-a-uuid' })],
    ['deviceChallenge empty', 'deviceChallenge', () => ({ ...base(), deviceChallenge: '' })],
    ['deviceChallenge over 256', 'deviceChallenge', () => ({ ...base(), deviceChallenge: long(257) })],
    ['deviceChallengeSignature empty', 'deviceChallengeSignature', () => ({ ...base(), deviceChallengeSignature: '' })],
    ['deviceChallengeSignature over 1024', 'deviceChallengeSignature', () => ({ ...base(), deviceChallengeSignature: long(1025) })],
    ['an unknown field', 'appVersion', () => ({ ...base(), appVersion: '1.0' })],
  ];

  it.each(cases)('rejects %s with 400 VALIDATION_FAILED naming the field, changing nothing', async (_name, field, body) => {
    const before = await get();
    const res = await patch(body());
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const pointer = `/body/${field}`;
    expect(res.body.message).toContain(field === 'appVersion' ? 'appVersion' : pointer);
    expect(await get()).toEqual(before);
  });

  it('accepts the boundaries of every constraint', async () => {
    const res = await patch({
      ...base(),
      accountId: '',
      osVersion: '',
      vmName: long(256),
      hostname: long(1024),
      userHash: long(256),
      releaseVersion: '1.2.3.4',
      releaseChannel: '',
      releasePlatform: long(256),
      releasePublishedAt: '2019-08-24T14:15:22Z',
      userId: long(256),
      leaseDuration: -1,
      metadata: [{ key: long(256), value: long(4096) }, { key: 'empty', value: '' }],
      meterAttributes: [{ name: 'api-calls', usesIncrement: 0 }],
      deviceId: '4de4adb9-21ee-47e3-aeb4-8cf8ed6c109a',
      deviceChallenge: long(256),
      deviceChallengeSignature: long(1024),
    });
    expect(res.status).toBe(200);
    for (const v of ['1.2', '1.2.3']) expect((await patch({ ...base(), releaseVersion: v })).status).toBe(200);
    const fp1024 = fingerprint('wide').padEnd(1024, 'y');
    const wide = await activate(t, license, fp1024);
    expect((await patch({ ...base(), fingerprint: fp1024 }, wide)).status).toBe(200);
    expect((await call(client, 'DELETE', `/v3/activations/${wide}`)).status).toBe(204);
  });

  it('sets the listed fields and leaves unlisted ones unchanged', async () => {
    await patch({ ...base(), osVersion: '22.04', releaseVersion: '2.0.1', releaseChannel: 'beta', metadata: [{ key: 'seat', value: 'A' }] });
    const res = await patch({ ...base(), os: 'windows', hostname: 'renamed' });
    expect(res.status).toBe(200);
    const { body } = await get();
    expect(body).toMatchObject({ os: 'windows', hostname: 'renamed', osVersion: '22.04', releaseVersion: '2.0.1', releaseChannel: 'beta' });
    expect(body.metadata).toEqual([expect.objectContaining({ key: 'seat', value: 'A' })]);
    expect(claimsOf(res.body.activationToken)).toMatchObject({ aid, amd: [{ key: 'seat', value: 'A' }] });
  });

  it('refuses a metadata key listed twice with 400 VALIDATION_FAILED naming body.metadata, changing nothing (our choice: the vendor keeps one value per key)', async () => {
    expect((await patch({ ...base(), metadata: [{ key: 'seat', value: 'A' }] })).status).toBe(200);
    const before = await get();
    const res = await patch({ ...base(), hostname: 'never', metadata: [{ key: 'seat', value: 'B' }, { key: 'other', value: 'x' }, { key: 'seat', value: 'C' }] });
    expect(res).toEqual({ status: 400, body: { code: 'VALIDATION_FAILED', message: 'body.metadata Metadata key "seat" is listed twice' } });
    expect(await get()).toEqual(before);
    // Keys differing only in case are different keys.
    const cased = await patch({ ...base(), metadata: [{ key: 'seat', value: 'B' }, { key: 'Seat', value: 'C' }] });
    expect(cased.status).toBe(200);
    const ids = (await get()).body.metadata.map((m: { id: string }) => m.id);
    expect(new Set(ids).size).toBe(2);
  });

  it('applies meterAttributes all or nothing', async () => {
    const calls = await uses('api-calls');
    const floating = await uses('floating-calls');
    const overLimit = await patch({ ...base(), hostname: 'never', meterAttributes: [{ name: 'api-calls', usesIncrement: 10 }, { name: 'floating-calls', usesIncrement: 101 }] });
    expect(overLimit.status).toBe(400);
    expect(overLimit.body.code).toBe('METER_ATTRIBUTE_USES_LIMIT_REACHED');
    const belowZero = await patch({ ...base(), meterAttributes: [{ name: 'api-calls', usesIncrement: 10 }, { name: 'floating-calls', usesIncrement: -(floating + 1) }] });
    expect(belowZero.status).toBe(400);
    expect(belowZero.body.code).toBe('METER_ATTRIBUTE_USES_BELOW_ZERO');
    const unknown = await patch({ ...base(), meterAttributes: [{ name: 'api-calls', usesIncrement: 10 }, { name: 'nope', usesIncrement: 1 }] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('METER_ATTRIBUTE_NOT_FOUND');
    const twice = await patch({ ...base(), meterAttributes: [{ name: 'api-calls', usesIncrement: 1 }, { name: 'api-calls', usesIncrement: 1 }] });
    expect(twice.status).toBe(400);
    expect(twice.body.code).toBe('VALIDATION_FAILED');
    expect(await uses('api-calls')).toBe(calls);
    expect(await uses('floating-calls')).toBe(floating);
    expect((await get()).body.hostname).not.toBe('never');

    const ok = await patch({ ...base(), meterAttributes: [{ name: 'api-calls', usesIncrement: 10 }, { name: 'floating-calls', usesIncrement: 4 }, { name: 'unlimited-calls', usesIncrement: 1000 }] });
    expect(ok.status).toBe(200);
    expect(await uses('api-calls')).toBe(calls + 10);
    expect(await uses('floating-calls')).toBe(floating + 4);
    const claims = claimsOf(ok.body.activationToken);
    expect(claims.ama).toEqual(expect.arrayContaining([{ name: 'api-calls', uses: calls + 10 }, { name: 'unlimited-calls', uses: 1000 }]));
    expect(claims.lma).toEqual(expect.arrayContaining([{ name: 'unlimited-calls', allowedUses: -1, totalUses: 1000, grossUses: 1000 }]));
    const ledger = await t.services.ledger.entriesFor(t.account.id, license.id);
    expect(ledger.filter((e) => e.event === 'meter_increment' && e.featureCode === 'unlimited-calls').map((e) => e.amount)).toEqual([1000]);
  });

  it('sets and clears the lease (-1 and 0 are unlimited)', async () => {
    const res = await patch({ ...base(), leaseDuration: 3600 });
    const lease = (await get()).body.leaseExpiresAt as string;
    expect(Date.parse(lease) - Date.now()).toBeGreaterThan(3590_000);
    expect(Date.parse(lease) - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(claimsOf(res.body.activationToken).eat).toBe(Math.floor(Date.parse(lease) / 1000));
    for (const unlimited of [0, -1]) {
      const again = await patch({ ...base(), leaseDuration: unlimited });
      expect((await get()).body.leaseExpiresAt).toBeNull();
      expect(claimsOf(again.body.activationToken).eat).toBeUndefined();
    }
    const huge = await patch({ ...base(), leaseDuration: Number.MAX_SAFE_INTEGER });
    expect(huge.status).toBe(200);
    expect((await get()).body.leaseExpiresAt).toBe('9999-12-31T23:59:59.000Z');
    await patch({ ...base(), leaseDuration: -1 });
  });

  it('refuses a wrong key, product, account or fingerprint and an unknown activation', async () => {
    const wrongKey = await patch({ ...base(), key: 'WRONG-KEY' });
    expect(wrongKey).toMatchObject({ status: 400, body: { code: 'INVALID_LICENSE_KEY' } });
    expect(await patch({ ...base(), productId: '123' })).toMatchObject({ status: 400, body: { code: 'INVALID_LICENSE_KEY' } });
    expect(await patch({ ...base(), accountId: '42' })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await patch({ ...base(), fingerprint: fingerprint('other') })).toMatchObject({ status: 400, body: { code: 'MACHINE_FINGERPRINT_MISMATCH' } });
    expect(await patch(base(), '4de4adb9-21ee-47e3-aeb4-8cf8ed6c109a')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('records activation.updated with the full activation object', async () => {
    await subscribeToAllEvents(t);
    await patch({ ...base(), releaseVersion: '3.1', meterAttributes: [{ name: 'api-calls', usesIncrement: 1 }] });
    const events = await t.services.events.list(t.account.id, { subject: aid, type: 'activation.updated' });
    const last = events[events.length - 1]!;
    const { body: current } = await get();
    expect(last.data).toEqual({ ...current, lastSyncedAt: expect.any(String), updatedAt: expect.any(String), metadata: expect.any(Array) });
    expect((last.data as { releaseVersion: string }).releaseVersion).toBe('3.1');
    expect((last.data as { organization: null; user: null }).organization).toBeNull();
  });

  it('answers 401 for a bad Bearer token and 404 for another account\'s', async () => {
    expect(await call({ ...client, token: 'nope' }, 'PATCH', `/v3/activations/${aid}`, base())).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
    const other = await t.createAccount();
    expect(await call({ ...client, token: other.credentials.v3AccessToken }, 'PATCH', `/v3/activations/${aid}`, base())).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await call({ ...client, token: t.credentials.v3AccessToken }, 'PATCH', `/v3/activations/${aid}`, base())).status).toBe(200);
  });
});
