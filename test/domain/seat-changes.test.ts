import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivationSeatsRepository } from '../../server/db/activation-seats.js';
import { DevicesRepository } from '../../server/db/devices-repository.js';
import { SEAT_CHANGE_MARGIN_MS } from '../../server/domain/devices.js';
import { newActivationId, newNumericId } from '../../server/domain/ids.js';
import type { SeatChange } from '../../server/domain/types.js';
import { errorCodeOf } from './license-arbitraries.js';
import { seedAccountWithProduct, startTestDomain, type TestDomain } from '../support/domain.js';

/**
 * A seat change is three writes (device claims the change, license takes or releases the seat,
 * device follows). These tests stop it between them, as a crash would, and check that the repair
 * step leaves `timesActivated` equal to the number of active devices, and that concurrent changes of
 * one device count one seat.
 */
describe('seat changes (domain)', () => {
  let t: TestDomain;
  let devices: DevicesRepository;
  let seats: ActivationSeatsRepository;

  beforeAll(async () => {
    t = await startTestDomain();
    devices = new DevicesRepository(t.db.models);
    seats = new ActivationSeatsRepository(t.db.models);
  });
  afterAll(async () => t?.stop());

  async function license(maxActivations: number) {
    const { account, product } = await seedAccountWithProduct(t.services);
    const created = await t.services.licenses.createLicense(account.id, { productId: product.id, type: 'perpetual', maxActivations });
    return { accountId: account.id, license: created };
  }

  async function newDevice(accountId: number, licenseId: number, productId: number, hardwareId: string) {
    return devices.upsert({ accountId, licenseId, productId, hardwareId }, () => ({ id: newNumericId(), activationId: newActivationId() }), new Date());
  }

  const active = async (accountId: number, licenseId: number) => (await t.services.devices.listActivations(accountId, { licenseId }, 0, 100)).length;
  const seatCount = async (accountId: number, licenseId: number) => (await t.services.licenses.getLicense(accountId, licenseId)).timesActivated;
  const pastMargin = async (change: SeatChange) => {
    const wait = change.deadline.getTime() + SEAT_CHANGE_MARGIN_MS + 50 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  const expired = (op: SeatChange['op']): SeatChange => ({ id: `change-${op}-${newNumericId()}`, op, deadline: new Date(Date.now() - 5_000) });

  it('20 parallel activations of one device take one seat', async () => {
    const { accountId, license: l } = await license(3);
    const results = await Promise.all(Array.from({ length: 20 }, () => t.services.devices.activate(accountId, { license: { licenseId: l.id }, hardwareId: 'same-hw' })));
    expect(results.filter((r) => !r.alreadyActive)).toHaveLength(1);
    expect(new Set(results.map((r) => r.device.id)).size).toBe(1);
    expect(await seatCount(accountId, l.id)).toBe(1);
    expect(await active(accountId, l.id)).toBe(1);
  });

  it('20 parallel deactivations of one device give one seat back', async () => {
    const { accountId, license: l } = await license(3);
    const { device } = await t.services.devices.activate(accountId, { license: { licenseId: l.id }, hardwareId: 'hw-a' });
    await t.services.devices.activate(accountId, { license: { licenseId: l.id }, hardwareId: 'hw-b' });
    const codes = await Promise.all(Array.from({ length: 20 }, () => errorCodeOf(t.services.devices.deactivateDevice(accountId, device))));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
    expect(codes.filter((c) => c === 'device_not_found')).toHaveLength(19);
    expect(await seatCount(accountId, l.id)).toBe(1);
    expect(await active(accountId, l.id)).toBe(1);
  });

  it('a crash after the license took the seat: the repair makes the device active', async () => {
    const { accountId, license: l } = await license(2);
    const device = await newDevice(accountId, l.id, l.productId, 'crashed-take');
    const change = expired('take');
    expect(await devices.beginSeatChange(accountId, device.id, change)).not.toBeNull();
    // The license write as the crashed request made it (its deadline still ahead then).
    expect(await seats.take(accountId, l.id, device.id, { ...change, deadline: new Date(Date.now() + 5_000) }, new Date())).not.toBeNull();
    expect(await seatCount(accountId, l.id)).toBe(1);
    expect(await active(accountId, l.id)).toBe(0);
    expect(await t.services.devices.repairSeatChanges(new Date())).toBeGreaterThanOrEqual(1);
    expect(await active(accountId, l.id)).toBe(1);
    expect(await seats.hasSeatEntry(l.id, change.id)).toBe(false);
    expect((await devices.findById(accountId, device.id))?.seatChange).toBeNull();
  });

  it('a crash before the license write: the repair drops the change, and a late license write is refused by its deadline', async () => {
    const { accountId, license: l } = await license(2);
    const device = await newDevice(accountId, l.id, l.productId, 'crashed-claim');
    const change = expired('take');
    expect(await devices.beginSeatChange(accountId, device.id, change)).not.toBeNull();
    await t.services.devices.repairSeatChanges(new Date());
    expect((await devices.findById(accountId, device.id))?.seatChange).toBeNull();
    // The crashed request's license write, arriving after its deadline, takes nothing.
    expect(await seats.take(accountId, l.id, device.id, change, new Date())).toBeNull();
    expect(await seatCount(accountId, l.id)).toBe(0);
    // The device activates normally afterwards.
    await t.services.devices.activate(accountId, { license: { licenseId: l.id }, hardwareId: 'crashed-claim' });
    expect(await seatCount(accountId, l.id)).toBe(1);
    expect(await active(accountId, l.id)).toBe(1);
  });

  it('a crash after the license released the seat: the repair makes the device inactive', async () => {
    const { accountId, license: l } = await license(2);
    const { device } = await t.services.devices.activate(accountId, { license: { licenseId: l.id }, hardwareId: 'crashed-release' });
    const change = expired('release');
    expect(await devices.beginSeatChange(accountId, device.id, change)).not.toBeNull();
    expect(await seats.release(accountId, l.id, device.id, [], { ...change, deadline: new Date(Date.now() + 5_000) }, new Date())).not.toBeNull();
    expect(await seatCount(accountId, l.id)).toBe(0);
    // A request waiting on the device finishes the stale change itself: the device has no seat.
    expect(await errorCodeOf(t.services.devices.deactivateDevice(accountId, device))).toBe('device_not_found');
    expect(await active(accountId, l.id)).toBe(0);
    expect(await seats.hasSeatEntry(l.id, change.id)).toBe(false);
  });

  it('a deactivation while an activation cut off by a crash is still in flight waits for it: the machine ends without a seat', async () => {
    const { accountId, license: l } = await license(2);
    const device = await newDevice(accountId, l.id, l.productId, 'cut-off-take');
    // The crashed activation: the device claimed the change and the license took the seat; the device never followed.
    const change: SeatChange = { id: `change-take-${newNumericId()}`, op: 'take', deadline: new Date(Date.now() + 300) };
    expect(await devices.beginSeatChange(accountId, device.id, change)).not.toBeNull();
    expect(await seats.take(accountId, l.id, device.id, change, new Date())).not.toBeNull();
    // Its client gives up and deactivates the machine instead: answered, the machine holds no seat, whatever the repair does later.
    const answer = await errorCodeOf(t.services.devices.deactivate(accountId, { licenseId: l.id }, 'cut-off-take'));
    expect(['ok', 'device_not_found']).toContain(answer);
    // The repair job's next pass, once the change's deadline and margin have passed.
    await pastMargin(change);
    await t.services.devices.repairSeatChanges(new Date());
    expect(await active(accountId, l.id)).toBe(0);
    expect(await seatCount(accountId, l.id)).toBe(0);
  });

  it('a Web API v3 deletion while a re-activation cut off by a crash is still in flight waits for it', async () => {
    const { accountId, license: l } = await license(2);
    const { device } = await t.services.devices.activate(accountId, { license: { licenseId: l.id }, hardwareId: 'cut-off-again' });
    await t.services.devices.deactivateDevice(accountId, device);
    // The machine activates again (same activation id); the request crashes after the license took the seat.
    const change: SeatChange = { id: `change-take-${newNumericId()}`, op: 'take', deadline: new Date(Date.now() + 300) };
    expect(await devices.beginSeatChange(accountId, device.id, change)).not.toBeNull();
    expect(await seats.take(accountId, l.id, device.id, change, new Date())).not.toBeNull();
    const answer = await errorCodeOf(t.services.devices.deactivateActivation({ accountId: null }, device.activationId));
    expect(['ok', 'not_found']).toContain(answer);
    // The repair job's next pass, once the change's deadline and margin have passed.
    await pastMargin(change);
    await t.services.devices.repairSeatChanges(new Date());
    expect(await active(accountId, l.id)).toBe(0);
    expect(await seatCount(accountId, l.id)).toBe(0);
  });

  it('a consumption through a seat that was taken away since it was read is refused', async () => {
    const { account, product } = await seedAccountWithProduct(t.services);
    const l = await t.services.licenses.createLicense(account.id, { productId: product.id, type: 'consumption', maxActivations: 2, features: [{ code: 'api-calls', max: 100 }] });
    const { device } = await t.services.devices.activate(account.id, { license: { licenseId: l.id }, hardwareId: 'seat-1' });
    const consume = () =>
      t.services.consumption.consume({
        accountId: account.id,
        license: { licenseId: l.id },
        target: { scope: 'feature', code: 'api-calls' },
        seat: { hardwareId: 'seat-1' },
        amount: 1,
        negatives: 'policy',
        event: 'consumption_add',
      });
    expect((await consume()).meter.total).toBe(1);
    // The seat is now kept as read; deactivating the device raises the seat epoch, so the kept seat no longer counts.
    await t.services.devices.deactivateDevice(account.id, device);
    expect(await errorCodeOf(consume())).toBe('device_not_found');
    expect((await t.services.licenses.getLicense(account.id, l.id)).features[0]!.total).toBe(1);
  });
});
