import { completeLedgerEntries, ledgerOutboxEntry } from './ledger-entries.js';
import { assertUsable, heldSeatRefusal, meterRefusal, MOVED, resetDuePeriod, retryOnConflict, RETRY, type MeterRefusal } from './license-rules.js';
import { expectThresholds, thresholdIntents, type ThresholdExpectation } from './consumption-alerts.js';
import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import type { EventOutboxEntry } from './events.js';
import { DomainError } from './errors.js';
import { currentTotal, isPeriodDue } from './meter.js';
import { LedgerEvent, type License, type LicenseFeature } from './types.js';
import type { DevicesPort, HeldSeat, LicenseMetersPort, MultiFeatureChange, OutboxEntry } from './ports.js';

/**
 * Meter attributes are a license's consumption features seen from the activation side: the name is
 * the feature code, the allowed uses its ceiling (null when unlimited), the license total and gross
 * uses its `total` and `gross`, and an activation's uses the feature's `uses[deviceId]`, kept in the
 * same license document so that per-activation uses always sum to the license total.
 */
export interface MeterAttributeView {
  id: number;
  name: string;
  /** The feature's ceiling: the most uses the license may total; null when unlimited. */
  allowedUses: number | null;
  totalUses: number;
  grossUses: number;
  /** This activation's current uses (0 without an activation). */
  uses: number;
}

export function isMeterAttribute(feature: LicenseFeature): boolean {
  return feature.featureType === 'consumption';
}

/** The meter attribute named by its id (decimal) or its name, or undefined. */
export function findMeterAttribute(license: License, idOrName: string): LicenseFeature | undefined {
  return license.features.find((f) => isMeterAttribute(f) && (f.code === idOrName || String(f.id) === idOrName));
}

export function meterAttributeView(feature: LicenseFeature, deviceId: number | null, now: Date): MeterAttributeView {
  const periodOver = isPeriodDue(feature, now);
  return {
    id: feature.id,
    name: feature.code,
    allowedUses: feature.ceiling,
    totalUses: currentTotal(feature, now),
    grossUses: feature.gross,
    uses: deviceId === null || periodOver ? 0 : (feature.uses[String(deviceId)] ?? 0),
  };
}

export function meterAttributesOf(license: License, deviceId: number | null, now: Date): MeterAttributeView[] {
  return license.features.filter(isMeterAttribute).map((f) => meterAttributeView(f, deviceId, now));
}

export interface UsesChange {
  /** The meter attribute's name (feature code). */
  name: string;
  amount: number;
}

export interface ChangeUsesInput {
  accountId: number;
  licenseId: number;
  activationId: string;
  deviceId: number;
  changes: UsesChange[];
  requestId?: string | undefined;
  /** Event entries the caller records in the same write (and settles itself). */
  events?: EventOutboxEntry[] | undefined;
}

/**
 * Changes several meter attributes of one activation at once, all or nothing: one guarded atomic
 * update over all the features (limits, floors of the license total and of this activation's uses,
 * expiry, the seat). When it matches nothing, the stored license tells why; a meter whose period is
 * due is reset and the change retried.
 */
export class MeterAttributeUses {
  constructor(
    private readonly meters: LicenseMetersPort,
    private readonly clock: Clock,
    private readonly events: EventOutbox,
    private readonly devices: Pick<DevicesPort, 'findByActivationId'>,
  ) {}

  /** The activation's seat as the write relies on it, read after `license` (see HeldSeat); the license's own refusals come first. */
  private async heldSeat(license: License, activationId: string, now: Date): Promise<HeldSeat> {
    const device = await this.devices.findByActivationId(activationId);
    const refusal = heldSeatRefusal(device, license.id, now);
    if (refusal !== null) assertUsable(license, now);
    if (refusal === 'seat_missing') throw new DomainError('device_not_found', 'The activation no longer exists');
    if (refusal === 'device_blacklisted') throw new DomainError('device_blacklisted', 'This activation is blacklisted');
    return { deviceId: device!.id, activationId, seatEpoch: license.seatEpoch, leaseExpiresAt: device!.leaseExpiresAt };
  }

  async change(input: ChangeUsesInput): Promise<License> {
    const seen = new Set<string>();
    for (const c of input.changes) {
      if (seen.has(c.name)) throw new DomainError('invalid_input', `Meter attribute "${c.name}" is listed twice`, { field: 'changes' });
      seen.add(c.name);
      if (!Number.isSafeInteger(c.amount)) throw new DomainError('invalid_input', 'An amount is too large', { field: 'changes' });
    }
    const changes = input.changes.filter((c) => c.amount !== 0);
    return retryOnConflict(async () => {
      const now = this.clock.now();
      const current = await this.meters.find(input.accountId, { licenseId: input.licenseId });
      if (!current) throw new DomainError('license_not_found', 'License not found');
      for (const c of input.changes) {
        if (!findMeterAttribute(current, c.name)) throw new DomainError('feature_not_on_license', `Meter attribute "${c.name}" not found`, { code: c.name });
      }
      if (changes.length === 0) return current;
      const seat = await this.heldSeat(current, input.activationId, now);
      // The alert thresholds each change reaches on the features as just read (the write is guarded by them).
      const planned = changes.map((c) => {
        const feature = findMeterAttribute(current, c.name)!;
        return { c, feature, thresholds: expectThresholds(feature, c.amount) };
      });
      const consumptionEvents = planned.flatMap(({ c, feature, thresholds }) => [
        this.events.entry({ type: 'consumption.added', accountId: input.accountId, scope: 'feature', featureCode: feature.code, amount: c.amount, seat: { activationId: input.activationId } }, now),
        ...thresholdIntents(input.accountId, { scope: 'feature', code: feature.code }, thresholds).map((intent) => this.events.entry(intent, now)),
      ]);
      const multi: MultiFeatureChange = {
        accountId: input.accountId,
        licenseId: input.licenseId,
        seat,
        deviceUses: input.deviceId,
        negatives: 'floor-only',
        now,
        events: [...consumptionEvents, ...(input.events ?? [])],
        changes: planned.map(({ c, feature, thresholds }) => ({
          code: feature.code,
          index: current.features.indexOf(feature),
          amount: c.amount,
          outbox: this.outboxEntry(input, { name: feature.code, amount: c.amount }, now),
          thresholds,
        })),
      };
      const applied = await this.meters.applyMany(multi);
      if (applied) {
        const updated = applied.license;
        await this.events.settle({ licenseId: updated.id }, updated.id, consumptionEvents, { license: updated }, completeLedgerEntries(updated, applied.pending));
        return updated;
      }
      return this.explainRejection(input, changes, seat, now, new Map(planned.map((p) => [p.c.name, p.thresholds])));
    });
  }

  private outboxEntry(input: ChangeUsesInput, c: UsesChange, now: Date): OutboxEntry {
    return ledgerOutboxEntry({
      accountId: input.accountId,
      licenseId: input.licenseId,
      scope: 'feature',
      featureCode: c.name,
      deviceId: input.deviceId,
      amount: c.amount,
      event: LedgerEvent.activationUses,
      requestId: input.requestId ?? null,
      idempotencyKey: null,
      at: now,
    });
  }

  /**
   * Throws the reason the guarded update matched nothing (meterRefusal, change by change); returns
   * when it is worth retrying: MOVED when only the alert thresholds a change reaches moved (the next
   * attempt reads the features again and expects the new ones).
   */
  private async explainRejection(input: ChangeUsesInput, changes: UsesChange[], seat: HeldSeat, now: Date, expected: Map<string, ThresholdExpectation>): Promise<typeof RETRY | typeof MOVED> {
    const license = await this.meters.find(input.accountId, { licenseId: input.licenseId });
    if (!license) throw new DomainError('license_not_found', 'License not found');
    const judged = changes.map((c) => {
      const feature = findMeterAttribute(license, c.name);
      const refusal: MeterRefusal | null = feature
        ? meterRefusal(license, { target: { scope: 'feature', code: feature.code }, amount: c.amount, now, seat, deviceUses: input.deviceId, negatives: 'floor-only', thresholds: expected.get(c.name) })
        : 'meter_missing';
      return { c, feature, refusal };
    });
    const first = (...reasons: MeterRefusal[]) => judged.find((j) => j.refusal !== null && reasons.includes(j.refusal));
    // The license and the activation first, then each attribute, then the limits, as the API reports them.
    switch (first('license_disabled', 'license_expired', 'seat_changed')?.refusal) {
      case 'license_disabled':
        throw new DomainError('license_disabled', 'The license is not enabled');
      case 'license_expired':
        throw new DomainError('license_expired', 'The license has expired');
      case 'seat_changed':
        // A seat of the license was taken away since it was read: the retry reads the seat again.
        return RETRY;
    }
    const attribute = first('meter_missing', 'feature_expired');
    if (attribute?.refusal === 'meter_missing') throw new DomainError('feature_not_on_license', `Meter attribute "${attribute.c.name}" not found`, { code: attribute.c.name });
    if (attribute) throw new DomainError('feature_expired', `Meter attribute "${attribute.c.name}" has expired`);
    const due = judged.filter((j) => j.refusal === 'period_due');
    for (const { feature } of due) await resetDuePeriod(this.meters, this.events, license, { scope: 'feature', code: feature!.code }, feature!, now);
    if (due.length > 0) return RETRY;
    const limit = first('below_zero', 'limit_reached');
    if (limit?.refusal === 'below_zero') throw new DomainError('consumption_below_zero', `The decrement would take the uses of "${limit.c.name}" below 0`, { code: limit.c.name });
    if (limit) throw new DomainError('consumption_limit_reached', `Meter attribute "${limit.c.name}" has reached its allowed uses`, { code: limit.c.name, total: limit.feature!.total, ceiling: limit.feature!.ceiling });
    return first('thresholds_moved') ? MOVED : RETRY;
  }
}
