import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivationSeatsRepository } from '../../server/db/activation-seats.js';
import { DevicesRepository } from '../../server/db/devices-repository.js';
import { newActivationId, newNumericId } from '../../server/domain/ids.js';
import type { NewLicenseInput } from '../../server/domain/licenses.js';
import type { SeatChange } from '../../server/domain/types.js';
import { ManualClock } from '../support/clock.js';
import { seedAccountWithProduct, startTestDomain, type TestDomain } from '../support/domain.js';
import { errorCodeOf } from './license-arbitraries.js';
import { seedSeats } from '../support/seats.js';

const MINUTE = 60_000;

/**
 * Seats that expire (floating-cloud licenses, leases, borrows) on the database: only live seats count
 * against the limit, an expired seat's place goes to the next device in the same license write, and
 * renewals, releases, borrows and reclaims stay exact under concurrency. The clock of the domain is
 * moved by hand.
 */
describe('floating seats (domain)', () => {
  const clock = new ManualClock(new Date('2026-06-01T10:00:00Z'));
  let t: TestDomain;
  let devices: DevicesRepository;

  beforeAll(async () => {
    t = await startTestDomain({ clock });
    devices = new DevicesRepository(t.db.models);
  });
  afterAll(async () => t?.stop());

  async function floatingLicense(input: Partial<NewLicenseInput> = {}) {
    const { account, product } = await seedAccountWithProduct(t.services);
    const license = await t.services.licenses.createLicense(account.id, {
      productId: product.id,
      type: 'perpetual',
      maxActivations: 1,
      isFloatingCloud: true,
      floatingUsers: 10,
      floatingTimeout: 1,
      ...input,
    });
    return { accountId: account.id, license };
  }

  const take = (accountId: number, licenseId: number, hardwareId: string) => t.services.devices.activate(accountId, { license: { licenseId }, hardwareId });
  const check = async (accountId: number, licenseId: number, hardwareId: string) => {
    const license = await t.services.licenses.getLicense(accountId, licenseId);
    return t.services.devices.checkIn(accountId, license, hardwareId);
  };
  const state = async (accountId: number, licenseId: number) => {
    const license = await t.services.licenses.getLicense(accountId, licenseId);
    const active = await t.db.models.Device.countDocuments({ licenseId, active: true });
    return { timesActivated: license.timesActivated, active, live: await t.services.devices.liveSeats(license) };
  };
  const hardwareIds = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const tally = (codes: string[]) => codes.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {});

  it('50 devices race for 10 floating seats: exactly 10 win; after the timeout 50 others race and exactly 10 win again', async () => {
    clock.set('2026-06-01T10:00:00Z');
    const { accountId, license } = await floatingLicense();
    const first = await Promise.all(hardwareIds('first', 50).map((hw) => errorCodeOf(take(accountId, license.id, hw))));
    expect(tally(first)).toEqual({ ok: 10, floating_seat_unavailable: 40 });
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 10, active: 10, live: 10 });

    // The timeout passes without a check: every seat has expired, and still counts until reclaimed.
    clock.advance(MINUTE + 1);
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 10, active: 10, live: 0 });
    const second = await Promise.all(hardwareIds('second', 50).map((hw) => errorCodeOf(take(accountId, license.id, hw))));
    expect(tally(second)).toEqual({ ok: 10, floating_seat_unavailable: 40 });
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 10, active: 10, live: 10 });
    // Every seat of the first round was given to a device of the second.
    expect(await t.db.models.Device.countDocuments({ licenseId: license.id, active: true, hardwareId: /^first-/ })).toBe(0);
    expect(await t.db.models.Device.countDocuments({ licenseId: license.id, seatChange: { $ne: null } })).toBe(0);
  });

  it('renewals racing reclaims never leave more live seats than the limit: exactly 10 of 40 devices hold one', async () => {
    clock.set('2026-06-01T11:00:00Z');
    const { accountId, license } = await floatingLicense();
    const holders = hardwareIds('holder', 10);
    for (const hw of holders) await take(accountId, license.id, hw);
    clock.advance(MINUTE + 1);
    // The 10 expired holders check in (renew), three times each at once, while 30 new devices try to take their places.
    const calls = [
      ...holders.flatMap((hw) => [1, 2, 3].map(() => ({ hw, run: () => check(accountId, license.id, hw) }))),
      ...hardwareIds('newcomer', 30).map((hw) => ({ hw, run: () => take(accountId, license.id, hw) })),
    ];
    const outcomes = await Promise.all(calls.map(async (c) => ({ hw: c.hw, code: await errorCodeOf(c.run()) })));
    expect(outcomes.every((o) => o.code === 'ok' || o.code === 'floating_seat_unavailable')).toBe(true);
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 10, active: 10, live: 10 });
    // Every device told it holds a seat still holds it (nothing passed the clock since), and only those.
    const winners = [...new Set(outcomes.filter((o) => o.code === 'ok').map((o) => o.hw))].sort();
    const holding = (await t.db.models.Device.find({ licenseId: license.id, active: true }).lean<Array<{ hardwareId: string }>>()).map((d) => d.hardwareId).sort();
    expect(holding).toEqual(winners);
  });

  it('a renewal matches nothing once a reclaim has begun or ended, and a reclaim nothing once a renewal moved the lease end', async () => {
    clock.set('2026-06-01T11:30:00Z');
    const { accountId, license } = await floatingLicense({ floatingUsers: 2 });
    await take(accountId, license.id, 'hw-a');
    await take(accountId, license.id, 'hw-b');
    clock.advance(MINUTE + 1);
    const a = (await devices.findByHardwareId(license.id, 'hw-a'))!;
    const b = (await devices.findByHardwareId(license.id, 'hw-b'))!;
    const lease = { leaseExpiresAt: new Date(clock.now().getTime() + MINUTE) };
    // A reclaim's release change in flight: the renewal read before it must not apply.
    const release: SeatChange = { id: `release-${newNumericId()}`, op: 'release', deadline: new Date(Date.now() + 5_000) };
    expect(await devices.beginSeatChange(accountId, a.id, release, a.leaseExpiresAt!)).not.toBeNull();
    expect(await devices.renewSeat(accountId, a.id, a.leaseExpiresAt, lease, clock.now())).toBeNull();
    await devices.endSeatChange(accountId, a.id, release.id, undefined, clock.now());
    // Reclaimed: the renewal read before matches nothing.
    expect(await t.services.devices.reclaimExpiredSeat(a)).toBe(true);
    expect(await devices.renewSeat(accountId, a.id, a.leaseExpiresAt, lease, clock.now())).toBeNull();
    // Renewed first: the reclaim that read the old lease end gives back nothing.
    expect(await devices.renewSeat(accountId, b.id, b.leaseExpiresAt, lease, clock.now())).not.toBeNull();
    expect(await t.services.devices.reclaimExpiredSeat(b)).toBe(false);
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 1, active: 1, live: 1 });
  });

  it('a check renews the seat for floating_timeout from now; a seat that expired and was taken is taken again only when one is free', async () => {
    clock.set('2026-06-01T12:00:00Z');
    const { accountId, license } = await floatingLicense({ floatingUsers: 1, floatingTimeout: 10 });
    const a = await take(accountId, license.id, 'hw-a');
    expect(a.device.leaseExpiresAt?.toISOString()).toBe('2026-06-01T12:10:00.000Z');
    clock.advance(6 * MINUTE);
    const renewed = await check(accountId, license.id, 'hw-a');
    expect(renewed.device.leaseExpiresAt?.toISOString()).toBe('2026-06-01T12:16:00.000Z');
    expect((await state(accountId, license.id)).timesActivated).toBe(1);
    // Past the renewed end: B takes A's place; A's next check finds no seat free.
    clock.set('2026-06-01T12:16:00Z');
    expect(await errorCodeOf(take(accountId, license.id, 'hw-b'))).toBe('ok');
    expect(await errorCodeOf(check(accountId, license.id, 'hw-a'))).toBe('floating_seat_unavailable');
    await t.services.devices.releaseFloating(accountId, { licenseId: license.id }, 'hw-b');
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 0, active: 0, live: 0 });
    expect(await errorCodeOf(t.services.devices.releaseFloating(accountId, { licenseId: license.id }, 'hw-b'))).toBe('device_not_found');
    // A check on a floating license takes a free seat.
    expect((await check(accountId, license.id, 'hw-a')).device.active).toBe(true);
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 1, active: 1, live: 1 });
  });

  it('borrowing: refused unless allowed and within max_borrow_time; a borrowed seat outlives the timeout; release ends the borrow', async () => {
    clock.set('2026-06-01T13:00:00Z');
    const closed = await floatingLicense({ floatingUsers: 1, floatingTimeout: 5 });
    await take(closed.accountId, closed.license.id, 'hw-a');
    expect(await errorCodeOf(t.services.devices.borrow(closed.accountId, { licenseId: closed.license.id }, 'hw-a', null))).toBe('borrow_not_allowed');

    const { accountId, license } = await floatingLicense({ floatingUsers: 1, floatingTimeout: 5, canBorrow: true, maxBorrowTime: 24 });
    await take(accountId, license.id, 'hw-a');
    const borrow = (until: string | null) => t.services.devices.borrow(accountId, { licenseId: license.id }, 'hw-a', until === null ? null : new Date(until));
    expect(await errorCodeOf(borrow('2026-06-02T13:00:01Z'))).toBe('borrow_until_invalid');
    expect(await errorCodeOf(borrow('2026-06-01T13:00:00Z'))).toBe('borrow_until_invalid');
    expect(await errorCodeOf(borrow('2026-06-01T12:00:00Z'))).toBe('borrow_until_invalid');
    const borrowed = await borrow('2026-06-01T20:00:00Z');
    expect(borrowed.device.borrowedUntil?.toISOString()).toBe('2026-06-01T20:00:00.000Z');
    expect(borrowed.device.leaseExpiresAt?.toISOString()).toBe('2026-06-01T20:00:00.000Z');

    // Past the timeout, the borrowed seat is still live: no other device gets it; a check does not shorten it.
    clock.set('2026-06-01T15:00:00Z');
    expect(await errorCodeOf(take(accountId, license.id, 'hw-b'))).toBe('floating_seat_unavailable');
    expect((await check(accountId, license.id, 'hw-a')).device.leaseExpiresAt?.toISOString()).toBe('2026-06-01T20:00:00.000Z');
    // null borrows for max_borrow_time from now.
    expect((await borrow(null)).device.borrowedUntil?.toISOString()).toBe('2026-06-02T15:00:00.000Z');

    await t.services.devices.releaseFloating(accountId, { licenseId: license.id }, 'hw-a');
    const released = await devices.findByHardwareId(license.id, 'hw-a');
    expect(released).toMatchObject({ active: false, borrowedUntil: null });
    expect(await errorCodeOf(take(accountId, license.id, 'hw-b'))).toBe('ok');

    // After its borrow ends (and the timeout since), the seat goes to the next device.
    const b = await borrow(null).catch((err: unknown) => err);
    expect(b).toMatchObject({ code: 'floating_seat_unavailable' });
    await t.services.devices.borrow(accountId, { licenseId: license.id }, 'hw-b', new Date('2026-06-01T16:00:00Z'));
    clock.set('2026-06-01T16:00:00Z');
    expect(await errorCodeOf(take(accountId, license.id, 'hw-a'))).toBe('ok');
    expect(await devices.findByHardwareId(license.id, 'hw-b')).toMatchObject({ active: false, borrowedUntil: null });
  });

  it('the sweep gives back expired seats (only expired ones), and a release of a non-floating license is refused', async () => {
    clock.set('2026-06-01T14:00:00Z');
    const { accountId, license } = await floatingLicense({ floatingUsers: 5, floatingTimeout: 1 });
    for (const hw of hardwareIds('sweep', 3)) await take(accountId, license.id, hw);
    clock.advance(MINUTE / 2);
    await take(accountId, license.id, 'fresh');
    clock.advance(MINUTE / 2 + 1);
    await t.services.devices.repairSeatChanges(new Date());
    expect(await state(accountId, license.id)).toEqual({ timesActivated: 1, active: 1, live: 1 });

    const { account, product } = await seedAccountWithProduct(t.services);
    const plain = await t.services.licenses.createLicense(account.id, { productId: product.id, type: 'perpetual', maxActivations: 2 });
    await take(account.id, plain.id, 'hw-1');
    expect(await errorCodeOf(t.services.devices.releaseFloating(account.id, { licenseId: plain.id }, 'hw-1'))).toBe('license_not_floating');
    expect(await errorCodeOf(t.services.devices.borrow(account.id, { licenseId: plain.id }, 'hw-1', null))).toBe('borrow_not_allowed');
  });

  it('a crash after a take\'s license write: the repaired seat gets the lease the request asked for', async () => {
    clock.set('2026-06-01T16:00:00Z');
    const { account, product } = await seedAccountWithProduct(t.services);
    const license = await t.services.licenses.createLicense(account.id, { productId: product.id, type: 'perpetual', maxActivations: 2 });
    const seats = new ActivationSeatsRepository(t.db.models);
    const device = await devices.upsert({ accountId: account.id, licenseId: license.id, productId: license.productId, hardwareId: 'cut-take' }, () => ({ id: newNumericId(), activationId: newActivationId() }), clock.now());
    const change: SeatChange = { id: `take-${newNumericId()}`, op: 'take', deadline: new Date(Date.now() + 5_000), leaseDuration: 30 };
    expect(await devices.beginSeatChange(account.id, device.id, change)).not.toBeNull();
    expect(await seats.take(account.id, license.id, device.id, change, clock.now())).not.toBeNull();
    await t.db.models.Device.updateOne({ _id: device.id }, { $set: { 'seatChange.deadline': new Date(Date.now() - 10_000) } });
    await t.services.devices.repairSeatChanges(new Date());
    expect(await devices.findById(account.id, device.id)).toMatchObject({ active: true, seatChange: null, leaseExpiresAt: new Date('2026-06-01T16:00:30Z') });
  });

  it('a crash after the write that gave an expired seat to a new device: the repair finishes both devices', async () => {
    clock.set('2026-06-01T15:00:00Z');
    const { accountId, license } = await floatingLicense({ floatingUsers: 1, floatingTimeout: 1 });
    const old = (await take(accountId, license.id, 'old')).device;
    clock.advance(MINUTE + 1);
    const seats = new ActivationSeatsRepository(t.db.models);
    const fresh = await devices.upsert({ accountId, licenseId: license.id, productId: license.productId, hardwareId: 'new' }, () => ({ id: newNumericId(), activationId: newActivationId() }), clock.now());
    // Both changes as the crashed request began them (deadlines that have passed by the time of the repair).
    const ahead = new Date(Date.now() + 5_000);
    const takeChange: SeatChange = { id: `take-${newNumericId()}`, op: 'take', deadline: ahead };
    const releaseChange: SeatChange = { id: `release-${newNumericId()}`, op: 'release', deadline: ahead };
    expect(await devices.beginSeatChange(accountId, fresh.id, takeChange)).not.toBeNull();
    expect(await devices.beginSeatChange(accountId, old.id, releaseChange, old.leaseExpiresAt!)).not.toBeNull();
    expect(await seats.take(accountId, license.id, fresh.id, takeChange, clock.now(), [], { deviceId: old.id, change: releaseChange, floating: [] })).not.toBeNull();
    await t.db.models.Device.updateMany({ _id: { $in: [old.id, fresh.id] } }, { $set: { 'seatChange.deadline': new Date(Date.now() - 10_000) } });
    await t.services.devices.repairSeatChanges(new Date());
    expect(await devices.findById(accountId, old.id)).toMatchObject({ active: false, seatChange: null });
    // The new device's seat has the lease its take would have given it: live for the timeout from the repair.
    expect(await devices.findById(accountId, fresh.id)).toMatchObject({ active: true, seatChange: null, leaseExpiresAt: new Date(clock.now().getTime() + MINUTE) });
    expect((await state(accountId, license.id)).timesActivated).toBe(1);
  });

  describe('floating feature slots', () => {
    async function featureLicense(floatingUsers: number, floatingTimeout: number | null) {
      const { account, product } = await seedAccountWithProduct(t.services);
      const license = await t.services.licenses.createLicense(account.id, {
        productId: product.id,
        type: 'perpetual',
        maxActivations: 100,
        features: [{ code: 'export', isFloatingCloud: true, floatingUsers, floatingTimeout }, { code: 'api-calls' }],
      });
      return { accountId: account.id, license, seats: await seedSeats(t.db, license, 60, `fs-${license.id}`) };
    }
    const checkFeature = (accountId: number, licenseId: number, hardwareId: string, code = 'export') => t.services.featureSlots.check(accountId, { licenseId }, hardwareId, code);
    const slotHolders = async (licenseId: number) => (await t.db.models.FeatureSlot.find({ licenseId }).lean<Array<{ deviceId: number; slot: number }>>()).length;

    it('50 devices race for 10 slots of a floating feature: exactly 10 win; after the timeout 10 others, exactly', async () => {
      clock.set('2026-06-02T10:00:00Z');
      const { accountId, license, seats } = await featureLicense(10, 1);
      const first = await Promise.all(seats.slice(0, 50).map((s) => errorCodeOf(checkFeature(accountId, license.id, s.hardwareId))));
      expect(tally(first)).toEqual({ ok: 10, floating_seat_unavailable: 40 });
      expect(await slotHolders(license.id)).toBe(10);
      expect(await t.services.featureSlots.inUse(license.id, 'export')).toBe(10);
      // The winners check again (renewals, nothing counted twice); the others are still refused.
      const again = await Promise.all(seats.slice(0, 50).map((s) => errorCodeOf(checkFeature(accountId, license.id, s.hardwareId))));
      expect(again).toEqual(first);

      clock.advance(MINUTE + 1);
      expect(await t.services.featureSlots.inUse(license.id, 'export')).toBe(0);
      const second = await Promise.all(seats.slice(10, 60).map((s) => errorCodeOf(checkFeature(accountId, license.id, s.hardwareId))));
      expect(tally(second)).toEqual({ ok: 10, floating_seat_unavailable: 40 });
      expect(await slotHolders(license.id)).toBe(10);
      expect(await t.services.featureSlots.inUse(license.id, 'export')).toBe(10);
    });

    it('release, borrow and the refusals of a feature slot; a deactivated device gives its slots back', async () => {
      clock.set('2026-06-02T12:00:00Z');
      const { accountId, license, seats } = await featureLicense(1, 10);
      const [a, b] = [seats[0]!.hardwareId, seats[1]!.hardwareId];
      const release = (hw: string, code = 'export') => t.services.featureSlots.release(accountId, { licenseId: license.id }, hw, code);
      const borrow = (hw: string, until: Date | null) => t.services.featureSlots.borrow(accountId, { licenseId: license.id }, hw, 'export', until);
      expect(await errorCodeOf(checkFeature(accountId, license.id, a, 'nope'))).toBe('feature_not_on_license');
      expect(await errorCodeOf(checkFeature(accountId, license.id, 'never-activated'))).toBe('device_not_found');
      expect((await checkFeature(accountId, license.id, a, 'api-calls')).slot).toBeNull();
      expect(await errorCodeOf(release(a, 'api-calls'))).toBe('feature_not_floating');
      expect((await checkFeature(accountId, license.id, a)).slot).toMatchObject({ slot: 0, leaseExpiresAt: new Date('2026-06-02T12:10:00Z') });
      expect(await errorCodeOf(checkFeature(accountId, license.id, b))).toBe('floating_seat_unavailable');
      await release(a);
      expect(await errorCodeOf(release(a))).toBe('feature_slot_not_held');
      expect((await checkFeature(accountId, license.id, b)).slot).toMatchObject({ slot: 0 });

      // Borrowing follows the license's policy.
      expect(await errorCodeOf(borrow(b, null))).toBe('borrow_not_allowed');
      await t.services.licenseAdmin.updateLicense(accountId, license.id, { canBorrow: true, maxBorrowTime: 8 });
      expect(await errorCodeOf(borrow(b, new Date('2026-06-02T20:00:01Z')))).toBe('borrow_until_invalid');
      expect((await borrow(b, null)).slot).toMatchObject({ borrowedUntil: new Date('2026-06-02T20:00:00Z'), leaseExpiresAt: new Date('2026-06-02T20:00:00Z') });
      clock.set('2026-06-02T19:00:00Z');
      expect(await errorCodeOf(checkFeature(accountId, license.id, a))).toBe('floating_seat_unavailable');
      expect((await checkFeature(accountId, license.id, b)).slot).toMatchObject({ leaseExpiresAt: new Date('2026-06-02T20:00:00Z') });

      // Deactivating b gives its slot back: a takes it at once.
      await t.services.devices.deactivate(accountId, { licenseId: license.id }, b);
      expect((await checkFeature(accountId, license.id, a)).slot).toMatchObject({ slot: 0, borrowedUntil: null });
    });
  });
});
