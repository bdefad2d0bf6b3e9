import { completeLedgerEntries, isEntryOf, ledgerOutboxEntry } from './ledger-entries.js';
import { locateLicense, meterOf, meterRefusal, MOVED, resetDuePeriod, resolveSeat, retryOnConflict, RETRY } from './license-rules.js';
import { expectThresholds, thresholdIntents, type ThresholdExpectation } from './consumption-alerts.js';
import type { Clock } from './clock.js';
import type { EventOutbox } from './event-outbox.js';
import type { EventIntent } from './events.js';
import { DomainError } from './errors.js';
import type { MeterState } from './meter.js';
import type { Device, LedgerEntry, License } from './types.js';
import type { DevicesPort, HeldSeat, LicenseLocator, LicenseMetersPort, MeterChange, MeterTarget, OutboxEntry, ProductLookup, SeatLocator } from './ports.js';
import type { TtlCache } from './ttl-cache.js';
import { hasPassed } from './query-forms.js';

export type { ProductLookup } from './ports.js';

export interface ConsumeInput {
  accountId: number;
  license: LicenseLocator;
  target: MeterTarget;
  amount: number;
  /** The calling device must hold an active seat on the license. */
  seat?: SeatLocator;
  /** Count the change in this device's own uses too (v3 meter attributes). Requires `seat`. */
  trackDeviceUses?: boolean;
  /** That device as the caller read it, if it did: event payloads about it are built from it. */
  device?: Device | undefined;
  /**
   * The change is a sync of the seat's activation (v3 meter attributes): once counted, the device's
   * `updatedAt` and `lastSyncedAt` move to the change's time, before its events are built. Requires `seat`.
   */
  syncSeat?: boolean;
  negatives: 'policy' | 'floor-only';
  requireConsumptionLicense?: boolean;
  overageCap?: MeterChange['overageCap'];
  event: LedgerEntry['event'];
  requestId?: string | undefined;
  idempotencyKey?: string | undefined;
  /**
   * Set when this request took over the Idempotency-Key claim of an earlier attempt that did not
   * finish (its process died, or it failed after writing): the time the key was first claimed. The
   * change is then looked for first and, if the earlier attempt made it, its result is returned.
   */
  idempotencyResumedSince?: Date | undefined;
  /** The deadline of each counter write (from the Idempotency-Key claim held; see IdempotentAttempt.writeDeadline). */
  writeDeadline?: (() => Date) | undefined;
  /** Events raised by the change besides `consumption.added` (recorded in the same write). */
  alsoRaise?: EventIntent[] | undefined;
}

export interface ConsumeResult {
  license: License;
  /** The targeted meter after the change. */
  meter: MeterState;
  /** The device whose seat was used, if any. */
  deviceId: number | null;
  /** True when the idempotency key had already been applied: nothing was counted this time. */
  replayed: boolean;
}

/**
 * A License API consumption of the license-level counter (`add_consumption`, and `deactivate_license`
 * with consumptions): the license must be of consumption type, negatives follow its policy.
 */
export type LicenseConsumeInput = Omit<ConsumeInput, 'target' | 'negatives' | 'requireConsumptionLicense'>;

/** Ledger entries already moved out of outboxes, by the Idempotency-Key of the change that made them. */
export interface AppliedKeyLookup {
  /** The newest entry of the account with this key written at or after `since`, or null. */
  findByIdempotencyKey(accountId: number, key: string, since: Date): Promise<LedgerEntry | null>;
}

/** How far back a key's ledger entry may be dated before its claim (clocks of several servers). */
const CLOCK_SLACK_MS = 5 * 60_000;

/**
 * The hot-path shortcut of repeated consumptions (both dialects use it: a License API feature
 * consumption, a Web API v3 meter-attribute increment). What a consumption reads before its guarded
 * update to find its target (which license, device and feature the request names) never changes once
 * read, so it is kept under the request's identifiers and a repeated request goes straight to the one
 * guarded update. Everything that can change (enabled, validity, seat, blacklisting, limits, whether
 * the feature is still on the license) is in the update's guard.
 */
export interface Shortcut<Target, Read = undefined> {
  /** Where targets are kept (created once by the composition root). */
  cache: TtlCache<string, Target>;
  /** The request's identifiers of its target; undefined when they may come to name another (never kept). */
  key: string | undefined;
  /** Whether a kept target fits what else the request says (e.g. the account or license id it names). */
  fits(known: Target): boolean;
  /** The full path: reads what the request names and checks it, throwing the exact error when refused. */
  resolve(): Promise<{ target: Target; read?: Read }>;
}

/**
 * Runs `consume` on the request's target: the kept one when it fits, else the one `resolve` reads
 * (kept after a successful consumption). A kept target whose consumption is refused is dropped and
 * the full path runs, so that the request is answered exactly as without the shortcut (a refused
 * guarded update changes nothing). An Idempotency-Key's own answers are final.
 */
export async function consumeThrough<Target, Read, Result>(shortcut: Shortcut<Target, Read>, consume: (target: Target, read: Read | undefined) => Promise<Result>): Promise<Result> {
  const key = shortcut.key;
  const known = key === undefined ? undefined : shortcut.cache.get(key);
  if (key !== undefined && known !== undefined && shortcut.fits(known)) {
    try {
      return await consume(known, undefined);
    } catch (err) {
      if (!(err instanceof DomainError) || err.code === 'idempotency_key_reused') throw err;
      shortcut.cache.delete(key);
    }
  }
  const { target, read } = await shortcut.resolve();
  const result = await consume(target, read);
  if (key !== undefined) shortcut.cache.set(key, target);
  return result;
}

/** A consumption of one consumption feature of the license a client names (see consumeFeature). */
export type FeatureConsumeInput = Omit<ConsumeInput, 'license' | 'target'> & {
  license: LicenseLocator;
  /** The license's id when the request pins one: another license is `license_not_found`. */
  licenseId?: number | undefined;
  feature: string;
};

/**
 * Changes a license's counters: the license-level consumption or one feature's. Every change is one
 * guarded atomic update; when a guard fails, the stored license explains why (or shows a period that
 * is due to reset, which is reset and the change retried).
 */
export class ConsumptionService {
  constructor(
    private readonly meters: LicenseMetersPort,
    private readonly products: ProductLookup,
    private readonly clock: Clock,
    private readonly events: EventOutbox,
    private readonly appliedKeys: AppliedKeyLookup,
    /** License ids by (account, product, license key, consumption feature), for consumeFeature's shortcut. */
    private readonly featureLicenses: TtlCache<string, number>,
    private readonly devices: Pick<DevicesPort, 'findByHardwareId' | 'findByActivationId' | 'syncSeat'>,
    /**
     * Seats as read (see HeldSeat) by (account, license locator, seat locator), so that a repeated
     * consumption through a seat makes no read before its guarded update: the update's seat-epoch
     * guard refuses it if any seat of the license was taken away since the seat was read.
     */
    private readonly heldSeats: TtlCache<string, HeldSeat>,
  ) {}

  /**
   * Consumes a feature of the license a client names by key or license user: the license must have
   * the feature, as a consumption feature. A license key seen before with this feature goes straight
   * to the guarded update (see consumeThrough); license users can change, so a user-named license is
   * always read first.
   */
  async consumeFeature(input: FeatureConsumeInput): Promise<ConsumeResult> {
    const { license: locator, licenseId: pinned, feature, ...rest } = input;
    const named: ConsumeInput = { ...rest, license: locator, target: { scope: 'feature', code: feature } };
    return consumeThrough(
      {
        cache: this.featureLicenses,
        key: 'key' in locator ? [input.accountId, locator.productCode, locator.key, feature].join('\u0000') : undefined,
        fits: (licenseId) => pinned === undefined || pinned === licenseId,
        resolve: async () => {
          const license = await locateLicense(this.meters, this.products, input.accountId, locator, pinned);
          const found = license.features.find((f) => f.code === feature);
          if (!found) throw new DomainError('feature_not_on_license', `The license has no feature "${feature}"`, { code: feature });
          if (found.featureType !== 'consumption') throw new DomainError('feature_not_on_license', `Feature "${feature}" is not a consumption feature`, { code: feature });
          return { target: license.id };
        },
      },
      (licenseId) => this.consume({ ...named, license: { licenseId } }),
    );
  }

  /** A License API consumption of the license-level counter (see LicenseConsumeInput). */
  async consumeLicense(input: LicenseConsumeInput): Promise<ConsumeResult> {
    return this.consume({ ...input, target: { scope: 'license' }, negatives: 'policy', requireConsumptionLicense: true });
  }

  /**
   * The result of the license-level change that Idempotency-Key `key` made since `since` (an attempt
   * whose claim was taken over), or null when it made none (see appliedResult).
   */
  async appliedLicenseChange(accountId: number, license: LicenseLocator, key: string, since: Date): Promise<ConsumeResult | null> {
    return this.appliedResult({ accountId, license, target: { scope: 'license' } }, key, since);
  }

  async consume(input: ConsumeInput): Promise<ConsumeResult> {
    if (input.idempotencyKey !== undefined && input.idempotencyResumedSince !== undefined) {
      const earlier = await this.appliedResult(input, input.idempotencyKey, input.idempotencyResumedSince);
      if (earlier) return earlier;
    }
    const seatKey = input.seat ? JSON.stringify([input.accountId, input.license, input.seat]) : undefined;
    let held: HeldSeat | undefined = seatKey === undefined ? undefined : this.heldSeats.get(seatKey);
    // A seat read before is relied on until its lease end as read (a renewal since is read again then).
    if (held && hasPassed(held.leaseExpiresAt, this.clock.now())) held = undefined;
    if (input.seat && !held) held = await this.readSeat(seatKey!, input.seat, await locateLicense(this.meters, this.products, input.accountId, input.license));
    const reseat = async (license: License) => {
      held = await this.readSeat(seatKey!, input.seat!, license);
    };
    // The alert thresholds the write expects to reach: none until a miss shows the meter where it reaches some.
    let thresholds: ThresholdExpectation = { crossed: [] };
    const expect = (meter: MeterState) => {
      thresholds = expectThresholds(meter, input.amount);
    };
    return retryOnConflict(async () => {
      const now = this.clock.now();
      const deviceId = held?.deviceId ?? null;
      const outbox: OutboxEntry = ledgerOutboxEntry({
        accountId: input.accountId,
        licenseId: 'licenseId' in input.license ? input.license.licenseId : 0,
        scope: input.target.scope,
        featureCode: input.target.scope === 'feature' ? input.target.code : null,
        deviceId,
        amount: input.amount,
        event: input.event,
        requestId: input.requestId ?? null,
        idempotencyKey: input.idempotencyKey ?? null,
        at: now,
      });
      const intents: EventIntent[] = [
        {
          type: 'consumption.added',
          accountId: input.accountId,
          scope: input.target.scope,
          featureCode: input.target.scope === 'feature' ? input.target.code : null,
          amount: input.amount,
          seat: held ? { activationId: held.activationId } : null,
        },
        ...(input.alsoRaise ?? []),
        ...thresholdIntents(input.accountId, input.target, thresholds),
      ];
      const events = intents.map((i) => this.events.entry(i, now));
      const change: MeterChange = {
        accountId: input.accountId,
        license: input.license,
        target: input.target,
        amount: input.amount,
        now,
        negatives: input.negatives,
        outbox,
        events,
        thresholds,
        ...(held ? { seat: held } : {}),
        ...(held && input.trackDeviceUses ? { deviceUses: held.deviceId } : {}),
        ...(input.requireConsumptionLicense ? { requireConsumptionLicense: true } : {}),
        ...(input.overageCap ? { overageCap: input.overageCap } : {}),
        ...(input.writeDeadline ? { deadline: input.writeDeadline() } : {}),
      };
      const applied = await this.meters.apply(change);
      if (applied) {
        const updated = applied.license;
        const meter = meterOf(updated, input.target)!;
        // This write's entry and every one of its counter still pending before it, completed from the
        // state the write left (the write returned only this counter; others are moved by their own writers).
        const ledger = completeLedgerEntries(updated, applied.pending.filter((e) => isEntryOf(e, input.target)));
        const device = input.syncSeat && held ? ((await this.devices.syncSeat(input.accountId, held.deviceId, now)) ?? input.device) : input.device;
        await this.events.settle({ licenseId: updated.id }, updated.id, events, { license: updated, device, ...(applied.narrowed ? { narrowed: true } : {}) }, ledger);
        return { license: updated, meter, deviceId, replayed: false };
      }
      return this.explainRejection(input, change, reseat, expect);
    });
  }

  /** The seat as read now on `license` (read before it), kept under `key`; a refused seat is forgotten. */
  private async readSeat(key: string, locator: SeatLocator, license: License): Promise<HeldSeat> {
    try {
      const seat = await resolveSeat(this.devices, license, locator, this.clock.now());
      this.heldSeats.set(key, seat);
      return seat;
    } catch (err) {
      this.heldSeats.delete(key);
      throw err;
    }
  }

  /**
   * The result of the change that `key` already made, or null when it made none: looked for in the
   * license's outbox first, then in the ledger (in this order: an entry leaves the outbox only after
   * it is in the ledger, so it cannot be missed between the two reads). The result shows the meter
   * as that change left it (its total after), not as it is now.
   */
  private async appliedResult(input: Pick<ConsumeInput, 'accountId' | 'license' | 'target'>, key: string, since: Date, read?: Awaited<ReturnType<LicenseMetersPort['find']>>): Promise<ConsumeResult | null> {
    const license = read ?? (await this.meters.find(input.accountId, input.license));
    if (!license) return null;
    const pending = completeLedgerEntries(license, license.pending).find((m) => m.entry.ledger.idempotencyKey === key);
    const entry = pending
      ? { ...pending.entry.ledger, totalAfter: pending.totalAfter }
      : await this.appliedKeys.findByIdempotencyKey(input.accountId, key, new Date(since.getTime() - CLOCK_SLACK_MS));
    if (!entry || entry.licenseId !== license.id) return null;
    const target = input.target;
    const sameMeter = target.scope === 'license' ? entry.scope === 'license' : entry.scope === 'feature' && entry.featureCode === target.code;
    if (!sameMeter) return null;
    const asOf = (m: MeterState): MeterState => (entry.totalAfter === null ? m : { ...m, total: entry.totalAfter, resetAt: entry.periodResetAt ?? m.resetAt });
    const { pending: _pending, ...plain } = license;
    const then: License =
      target.scope === 'license'
        ? { ...plain, consumption: asOf(plain.consumption) }
        : { ...plain, features: plain.features.map((f) => (f.code === target.code ? { ...f, ...asOf(f) } : f)) };
    const meter = meterOf(then, target);
    if (!meter) return null;
    return { license: then, meter, deviceId: entry.deviceId, replayed: true };
  }

  /**
   * Why the guarded update matched nothing (meterRefusal: the same rules in TypeScript): an error, or
   * RETRY, or MOVED (after `expect`ing the thresholds the change reaches on the meter as read now).
   */
  private async explainRejection(input: ConsumeInput, change: MeterChange, reseat: (license: License) => Promise<void>, expect: (meter: MeterState) => void): Promise<ConsumeResult | typeof RETRY | typeof MOVED> {
    const now = change.now;
    const license = await locateLicense(this.meters, this.products, input.accountId, input.license);
    const refusal = meterRefusal(license, change);
    const meter = meterOf(license, input.target);
    switch (refusal) {
      case 'deadline_passed':
        // Nothing was written: the request may be sent again with its Idempotency-Key.
        throw new DomainError('concurrent_modification', 'The change could not be made in time; retry the request');
      case 'license_disabled':
        throw new DomainError('license_disabled', 'The license is not enabled');
      case 'license_expired':
        throw new DomainError('license_expired', 'The license has expired');
      case 'seat_changed':
        // A seat of the license was taken away since the seat was read: read it again (throws when it was this one).
        await reseat(license);
        return RETRY;
      case 'license_not_consumption':
        throw new DomainError('license_not_consumption', 'The license needs to be of consumption type');
      case 'meter_missing':
        throw new DomainError('feature_not_on_license', 'The product feature does not exist on this license', { code: input.target.scope === 'feature' ? input.target.code : null });
      case 'feature_expired':
        throw new DomainError('feature_expired', 'The license feature has expired');
      case 'period_due': {
        await resetDuePeriod(this.meters, this.events, license, input.target, meter!, now);
        return RETRY;
      }
      case 'negative_not_allowed':
        throw new DomainError('negative_consumption_not_allowed', 'Negative consumptions not allowed');
      case 'below_zero':
        throw new DomainError('consumption_below_zero', 'The decrement would take the uses below 0');
      case 'limit_reached':
        throw new DomainError('consumption_limit_reached', 'Not enough consumptions left', { scope: input.target.scope, total: meter!.total, ceiling: meter!.ceiling });
      case 'thresholds_moved':
        expect(meter!);
        return MOVED;
      case null:
        // The license changed between the update and this read: try again.
        return RETRY;
    }
  }
}
