/**
 * The rules of the license aggregate, each written once and, where the database must apply it in the
 * same atomic write as a change, with its query form right after it: whether a license can be used
 * now (`usabilityOf` / `usableLicenseFilter`), which seat a call names (`seatOf` / `seatFilter`), when
 * a counter may change (`meterRefusal` / `meterChangeFilter`, `multiFeatureRefusals` /
 * `multiFeatureChangeFilter`), how a license is located, and how a write that lost a race is retried
 * (`retryOnConflict`). The query forms are plain MongoDB documents (see query-forms.ts); `server/db/`
 * executes them. `test/domain/license-rules.property.test.ts` (on the database) and
 * `test/domain/query-forms.property.test.ts` (through mingo) check that each pair agrees.
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from './errors.js';
import { completeLedgerEntries, isEntryOf, ledgerOutboxEntry, ledgerOutboxEntryExpression, outboxAppendExpression } from './ledger-entries.js';
import { isPeriodDue, periodNotDueFilter, type MeterState } from './meter.js';
import { periodEnd } from './periods.js';
import { hasPassed, literal, notPassedFilter, type QueryDocument } from './query-forms.js';
import type { EventOutboxEntry } from './events.js';
import type { EventOutbox } from './event-outbox.js';
import { missingSeatError } from './seat-errors.js';
import { expectThresholds, sameThresholds, thresholdGuard, type ThresholdExpectation } from './consumption-alerts.js';
import { isSeatLive } from './seat-rules.js';
import type { DevicesPort, FloatingUses, HeldSeat, LedgerTemplate, LicenseLocator, LicenseMetersPort, MeterChange, MeterTarget, MultiFeatureChange, ProductLookup, SeatLocator } from './ports.js';
import type { Device, License, LicenseFeature } from './types.js';

export type LicenseUsability = 'usable' | 'disabled' | 'expired';

/** A license can be used while it is enabled and not past the end of its validity. */
export function usabilityOf(license: Pick<License, 'enabled' | 'validUntil'>, now: Date): LicenseUsability {
  if (!license.enabled) return 'disabled';
  if (isExpired(license, now)) return 'expired';
  return 'usable';
}

/** Past the end of its validity (`validUntil` is the first moment it is no longer valid). */
export function isExpired(license: Pick<License, 'validUntil'>, now: Date): boolean {
  return hasPassed(license.validUntil, now);
}

/**
 * The query form of `usabilityOf(license, now) === 'usable'`: enabled, and not past `validUntil`.
 * `also`: further conditions of the caller's filter, kept in the same `$and`.
 */
export function usableLicenseFilter(now: Date, also: QueryDocument[] = []): QueryDocument {
  return { enabled: true, $and: [notPassedFilter('validUntil', now), ...also] };
}

/** Throws `license_disabled` / `license_expired` unless the license can be used now. */
export function assertUsable(license: Pick<License, 'enabled' | 'validUntil'>, now: Date, disabledMessage = 'The license is not enabled'): void {
  const usability = usabilityOf(license, now);
  if (usability === 'disabled') throw new DomainError('license_disabled', disabledMessage);
  if (usability === 'expired') throw new DomainError('license_expired', 'The license has expired');
}

/**
 * Why the guarded update of a counter refuses a change, in the order the APIs report the reasons.
 * `period_due`: the meter's period has ended (it is reset, then the change is tried again).
 * `thresholds_moved`: the change would be accepted, but the alert thresholds it reaches on the meter
 * as stored are not the ones it expects to record (`change.thresholds`; the total moved since it was
 * read): it is tried again expecting those.
 */
export type MeterRefusal =
  | 'deadline_passed'
  | 'license_disabled'
  | 'license_expired'
  | 'seat_changed'
  | 'license_not_consumption'
  | 'meter_missing'
  | 'feature_expired'
  | 'period_due'
  | 'negative_not_allowed'
  | 'below_zero'
  | 'limit_reached'
  | 'thresholds_moved';

export function meterOf(license: License, target: MeterTarget): MeterState | undefined {
  return target.scope === 'license' ? license.consumption : license.features.find((f) => f.code === target.code);
}

/** The feature with this code as an aggregation expression over the stored license (null when it has none). */
export function featureByCode(code: string): QueryDocument {
  return {
    $let: {
      vars: { found: { $filter: { input: { $ifNull: ['$features', []] }, as: 'f', cond: { $eq: ['$$f.code', literal(code)] } } } },
      in: { $cond: [{ $gt: [{ $size: '$$found' }, 0] }, { $arrayElemAt: ['$$found', 0] }, null] },
    },
  };
}

/** Past the feature's own expiry date. */
export function isFeatureExpired(feature: Pick<LicenseFeature, 'expiryDate'>, now: Date): boolean {
  return hasPassed(feature.expiryDate, now);
}

/** The query form of "the license has the feature `code` and it is not expired". */
export function featureNotExpiredFilter(code: string, now: Date): QueryDocument {
  return { features: { $elemMatch: { code, ...notPassedFilter('expiryDate', now) } } };
}

/**
 * Whether a device holds a usable seat on the license (null) or why not: it must be the license's,
 * hold a live seat (active, lease not ended: isSeatLive) and not be blacklisted. Read before a write
 * through the seat; the write then relies on it through the seat epoch (seatFilter).
 */
export function heldSeatRefusal(device: Pick<Device, 'licenseId' | 'active' | 'blacklisted' | 'leaseExpiresAt'> | null, licenseId: number, now: Date): 'seat_missing' | 'device_blacklisted' | null {
  if (!device || device.licenseId !== licenseId || !isSeatLive(device, now)) return 'seat_missing';
  if (device.blacklisted) return 'device_blacklisted';
  return null;
}

/**
 * The seat a request names on the license, as a write relies on it (see HeldSeat): `license` must be
 * read before the device, so that its seat epoch is no newer than what the device read shows. Throws
 * `license_inactive` / `device_not_found` (missingSeatError) or `device_blacklisted`.
 */
export async function resolveSeat(
  devices: Pick<DevicesPort, 'findByHardwareId' | 'findByActivationId'>,
  license: Pick<License, 'id' | 'seatEpoch' | 'timeActivated'>,
  locator: SeatLocator,
  now: Date,
): Promise<HeldSeat> {
  const device = 'hardwareId' in locator ? await devices.findByHardwareId(license.id, locator.hardwareId) : await devices.findByActivationId(locator.activationId);
  const refusal = heldSeatRefusal(device, license.id, now);
  if (refusal === 'seat_missing') throw missingSeatError(license);
  if (refusal === 'device_blacklisted') throw new DomainError('device_blacklisted', 'This device is blacklisted');
  return { deviceId: device!.id, activationId: device!.activationId, seatEpoch: license.seatEpoch, leaseExpiresAt: device!.leaseExpiresAt };
}

/** The query form of "no seat of the license was taken away since `seat` was read" (`license.seatEpoch === seat.seatEpoch`). */
export function seatFilter(seat: HeldSeat): QueryDocument {
  return { seatEpoch: seat.seatEpoch };
}

/** Whether `next` passes the meter's ceiling or the call's (tightening) overage cap. */
export function exceedsLimit(meter: MeterState, next: number, cap: MeterChange['overageCap']): boolean {
  if (meter.ceiling !== null && next > meter.ceiling) return true;
  if (cap && !meter.unlimited) {
    if (cap.allowOverages === false && next > meter.max) return true;
    if (cap.maxOverages !== undefined && cap.maxOverages > 0 && next > meter.max + cap.maxOverages) return true;
  }
  return false;
}

/** What a change expects to record of the alert thresholds (none, when it says nothing). */
function expectedThresholds(change: Pick<MeterChange, 'thresholds'>): ThresholdExpectation {
  return change.thresholds ?? { crossed: [] };
}

/**
 * The query form of `!exceedsLimit(meter, meter.total + change.amount, change.overageCap)` for an
 * increase, and of "the alert thresholds it reaches are the ones it expects" (undefined for a
 * decrease, which no limit holds back and which reaches no threshold): `$expr` conditions on the
 * targeted meter as stored when the write applies.
 */
function withinLimitExpression(change: Pick<MeterChange, 'target' | 'amount' | 'overageCap' | 'thresholds'>): QueryDocument | undefined {
  if (change.amount <= 0) return undefined;
  const m = change.target.scope === 'license' ? '$consumption' : '$$m';
  const newTotal = { $add: [`${m}.total`, change.amount] };
  const conditions: QueryDocument[] = [{ $or: [{ $eq: [`${m}.ceiling`, null] }, { $lte: [newTotal, `${m}.ceiling`] }] }, thresholdGuard(m, change.amount, expectedThresholds(change)).expr];
  const cap = change.overageCap;
  if (cap && (cap.allowOverages === false || (cap.maxOverages !== undefined && cap.maxOverages > 0))) {
    const capValue = cap.allowOverages === false ? `${m}.max` : { $add: [`${m}.max`, cap.maxOverages] };
    conditions.push({ $or: [{ $eq: [`${m}.unlimited`, true] }, { $lte: [newTotal, capValue] }] });
  }
  const all = conditions.length === 1 ? conditions[0]! : { $and: conditions };
  if (change.target.scope === 'license') return all;
  // The feature found by the position of its code among the codes (every feature has one, and codes
  // are distinct): one scan of strings, not an expression evaluated per feature as `$filter` is.
  return {
    $let: {
      vars: { i: { $indexOfArray: ['$features.code', literal(change.target.code)] } },
      in: { $and: [{ $gte: ['$$i', 0] }, { $let: { vars: { m: { $arrayElemAt: ['$features', '$$i'] } }, in: all } }] },
    },
  };
}

/** What the rules look at in a change (the rest of a MeterChange is what the write records). */
export type MeterRuleInput = Omit<MeterChange, 'accountId' | 'license' | 'outbox' | 'events'>;

/**
 * The TypeScript form of the counter rules: the first rule `change` breaks on `license` (as stored),
 * or null when the guarded update accepts it (`deadline_passed` is judged on the clock of `now` here,
 * on the database's clock by the filter). The
 * query form of the same rules is `meterChangeFilter` (below), which the database evaluates atomically;
 * `test/domain/license-rules.property.test.ts` generates licenses and changes and checks that the two
 * agree on every one.
 */
export function meterRefusal(license: License, change: MeterRuleInput): MeterRefusal | null {
  if (change.deadline !== undefined && change.now.getTime() >= change.deadline.getTime()) return 'deadline_passed';
  const usability = usabilityOf(license, change.now);
  if (usability === 'disabled') return 'license_disabled';
  if (usability === 'expired') return 'license_expired';
  if (change.seat && license.seatEpoch !== change.seat.seatEpoch) return 'seat_changed';
  if (change.target.scope === 'license' && change.requireConsumptionLicense && license.type !== 'consumption') return 'license_not_consumption';
  const meter = meterOf(license, change.target);
  if (!meter) return 'meter_missing';
  if (change.target.scope === 'feature') {
    const code = change.target.code;
    const feature = license.features.find((f) => f.code === code)!;
    if (isFeatureExpired(feature, change.now)) return 'feature_expired';
  }
  if (isPeriodDue(meter, change.now)) return 'period_due';
  const amount = change.amount;
  if (amount < 0) {
    if (change.negatives === 'policy' && !meter.allowNegative) return 'negative_not_allowed';
    const deviceUses =
      change.deviceUses !== undefined && change.target.scope === 'feature'
        ? ((meter as { uses?: Record<string, number> }).uses?.[String(change.deviceUses)] ?? 0)
        : Infinity;
    if (meter.total + amount < 0 || deviceUses + amount < 0) return 'below_zero';
  }
  if (amount > 0 && exceedsLimit(meter, meter.total + amount, change.overageCap)) return 'limit_reached';
  if (amount > 0 && thresholdsMoved(meter, amount, expectedThresholds(change))) return 'thresholds_moved';
  return null;
}

/** Whether the thresholds `amount` reaches on `meter` (or the limit and period they are of) are not what the change expects. */
function thresholdsMoved(meter: MeterState, amount: number, expected: ThresholdExpectation): boolean {
  if (!sameThresholds(expectThresholds(meter, amount), expected)) return true;
  const asRead = expected.asRead;
  return asRead !== undefined && (asRead.max !== meter.max || (asRead.resetAt?.getTime() ?? null) !== (meter.resetAt?.getTime() ?? null));
}

/** The plain conditions on the stored meter of a change that reaches thresholds (the limit and period as read), keys relative to the meter. */
function thresholdPins(change: Pick<MeterChange, 'amount' | 'thresholds'>): QueryDocument {
  return change.amount > 0 ? thresholdGuard('', change.amount, expectedThresholds(change)).meter : {};
}

/** The stored meter's own conditions (not `$expr`): period not due, negatives allowed, floors of the total and of the device's uses. */
function meterConditions(change: Pick<MeterChange, 'amount' | 'negatives' | 'deviceUses'>, now: Date): QueryDocument {
  const c: QueryDocument = periodNotDueFilter(now);
  if (change.amount < 0) {
    if (change.negatives === 'policy') c.allowNegative = true;
    c.total = { $gte: -change.amount };
    if (change.deviceUses !== undefined) c[`uses.${change.deviceUses}`] = { $gte: -change.amount };
  }
  return c;
}

function prefixKeys(o: QueryDocument, prefix: string): QueryDocument {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [prefix + k, v]));
}

/** The query form of "the write is made before `deadline`", on the database's clock. */
export function beforeDeadlineExpression(deadline: Date): QueryDocument {
  return { $lt: ['$$NOW', deadline] };
}

/** The query form of `meterRefusal(license, change) === null`: the filter of the guarded update. */
export function meterChangeFilter(change: MeterChange): QueryDocument {
  const { now } = change;
  const and: QueryDocument[] = [];
  const filter: QueryDocument = licenseLocatorFilter(change.accountId, change.license);
  if (change.seat) Object.assign(filter, seatFilter(change.seat));
  if (change.target.scope === 'license') {
    if (change.requireConsumptionLicense) filter.type = 'consumption';
    for (const [key, value] of Object.entries({ ...meterConditions(change, now), ...thresholdPins(change) })) {
      if (key === '$or') and.push({ $or: (value as QueryDocument[]).map((o) => prefixKeys(o, 'consumption.')) });
      else filter[`consumption.${key}`] = value;
    }
  } else {
    // One $elemMatch for the feature's conditions and its expiry (codes are unique on a license), so
    // the features are scanned once.
    filter.features = { $elemMatch: { code: change.target.code, ...thresholdPins(change), $and: [meterConditions(change, now), notPassedFilter('expiryDate', now)] } };
  }
  const exprs = [withinLimitExpression(change), change.deadline !== undefined ? beforeDeadlineExpression(change.deadline) : undefined].filter((e) => e !== undefined);
  if (exprs.length > 0) filter.$expr = exprs.length === 1 ? exprs[0]! : { $and: exprs };
  return { ...filter, ...usableLicenseFilter(now, and) };
}

/**
 * The update of the guarded write: the change as one `$inc` (total, gross by the increase, the
 * device's own uses), its ledger entry and events pushed to the outbox, and the alert thresholds it
 * reaches pushed to the meter's `alerted`.
 */
export function meterChangeUpdate(change: MeterChange): { update: QueryDocument; arrayFilters?: QueryDocument[] } {
  const gross = Math.max(change.amount, 0);
  const inc: Record<string, number> =
    change.target.scope === 'license'
      ? { 'consumption.total': change.amount, 'consumption.gross': gross }
      : { 'features.$[m].total': change.amount, 'features.$[m].gross': gross };
  if (change.target.scope === 'feature' && change.deviceUses !== undefined) inc[`features.$[m].uses.${change.deviceUses}`] = change.amount;
  const push: Record<string, unknown> = { outbox: { $each: [change.outbox, ...(change.events ?? [])] } };
  // The thresholds it reaches, alerted for the rest of the period (its guard holds them not alerted yet).
  const crossed = change.amount > 0 ? expectedThresholds(change).crossed : [];
  if (crossed.length > 0) push[change.target.scope === 'license' ? 'consumption.alerted' : 'features.$[m].alerted'] = { $each: crossed };
  return {
    update: { $inc: inc, $set: { updatedAt: change.now }, $push: push },
    ...(change.target.scope === 'feature' ? { arrayFilters: [{ 'm.code': change.target.code }] } : {}),
  };
}

/** One change of a multi-feature change as a single-counter change (the rules of each are those of meterRefusal). */
function singleChangeOf(multi: MultiFeatureChange, c: MultiFeatureChange['changes'][number]): MeterChange {
  return {
    accountId: multi.accountId,
    license: { licenseId: multi.licenseId },
    target: { scope: 'feature', code: c.code },
    amount: c.amount,
    now: multi.now,
    seat: multi.seat,
    deviceUses: multi.deviceUses,
    negatives: multi.negatives,
    outbox: c.outbox,
    thresholds: c.thresholds,
  };
}

/**
 * The TypeScript form of `multiFeatureChangeFilter`: for each change, the first rule it breaks, with
 * `feature_moved` when the feature is no longer at the position the change addresses; the update
 * applies exactly when every entry is null.
 */
export function multiFeatureRefusals(license: License, multi: MultiFeatureChange): Array<MeterRefusal | 'feature_moved' | null> {
  return multi.changes.map((c) => meterRefusal(license, singleChangeOf(multi, c)) ?? (license.features[c.index]?.code === c.code ? null : 'feature_moved'));
}

/** The filter of the one guarded update of a multi-feature change: every change's guards, and each feature at its index. */
export function multiFeatureChangeFilter(multi: MultiFeatureChange): QueryDocument {
  const { now } = multi;
  const and: QueryDocument[] = [];
  const exprs: QueryDocument[] = [];
  for (const c of multi.changes) {
    const single = singleChangeOf(multi, c);
    and.push({ features: { $elemMatch: { code: c.code, ...meterConditions(single, now), ...thresholdPins(single) } } });
    and.push(featureNotExpiredFilter(c.code, now));
    const expr = withinLimitExpression(single);
    if (expr) exprs.push(expr);
  }
  const filter: QueryDocument = { _id: multi.licenseId, accountId: multi.accountId, ...seatFilter(multi.seat), ...usableLicenseFilter(now, and) };
  for (const c of multi.changes) filter[`features.${c.index}.code`] = c.code;
  if (exprs.length > 0) filter.$expr = exprs.length === 1 ? exprs[0]! : { $and: exprs };
  return filter;
}

/** The update of a multi-feature change: every change in one `$inc` (addressed by index), the ledger entries and events pushed, the thresholds each reaches alerted. */
export function multiFeatureChangeUpdate(multi: MultiFeatureChange): QueryDocument {
  const inc: Record<string, number> = {};
  for (const c of multi.changes) {
    inc[`features.${c.index}.total`] = c.amount;
    inc[`features.${c.index}.gross`] = Math.max(c.amount, 0);
    inc[`features.${c.index}.uses.${multi.deviceUses}`] = c.amount;
  }
  const push: Record<string, unknown> = { outbox: { $each: [...multi.changes.map((c) => c.outbox), ...(multi.events ?? [])] } };
  for (const c of multi.changes) {
    const crossed = c.amount > 0 ? (c.thresholds?.crossed ?? []) : [];
    if (crossed.length > 0) push[`features.${c.index}.alerted`] = { $each: crossed };
  }
  return { $inc: inc, $set: { updatedAt: multi.now }, $push: push };
}

/**
 * The guarded write that starts a new period on a meter whose period has ended (`isPeriodDue`): total
 * back to 0 (a feature's per-device uses too: they are uses of the period), `resetAt` to the next
 * period's end, and a `period_reset` ledger entry for minus the total it closed with (none when that
 * was 0), in the same write; the alert thresholds are armed again (none alerted in the new period). Guarded by the old `resetAt` and the total as read, so of many concurrent
 * callers exactly one resets, and the entry's amount is exact.
 */
export function periodResetWrite(
  accountId: number,
  licenseId: number,
  target: MeterTarget,
  due: { resetAt: Date; total: number },
  nextResetAt: Date,
  now: Date,
): { filter: QueryDocument; update: QueryDocument; arrayFilters?: QueryDocument[] } {
  const entry = ledgerOutboxEntry({
    accountId,
    licenseId,
    scope: target.scope,
    featureCode: target.scope === 'feature' ? target.code : null,
    deviceId: null,
    amount: -due.total,
    event: 'period_reset',
    requestId: null,
    idempotencyKey: null,
    at: now,
    periodResetAt: due.resetAt,
  });
  const push = due.total !== 0 ? { $push: { outbox: entry } } : {};
  if (target.scope === 'license') {
    return {
      filter: { _id: licenseId, 'consumption.resetAt': due.resetAt, 'consumption.total': due.total },
      update: { $set: { 'consumption.total': 0, 'consumption.resetAt': nextResetAt, 'consumption.alerted': [], updatedAt: now }, ...push },
    };
  }
  return {
    filter: { _id: licenseId, features: { $elemMatch: { code: target.code, resetAt: due.resetAt, total: due.total } } },
    update: { $set: { 'features.$[m].total': 0, 'features.$[m].uses': {}, 'features.$[m].resetAt': nextResetAt, 'features.$[m].alerted': [], updatedAt: now }, ...push },
    arrayFilters: [{ 'm.code': target.code, 'm.resetAt': due.resetAt }],
  };
}

/**
 * The `$set` stage that resets a license's consumption: the license-level total and every feature's
 * total back to 0, with a ledger entry for each counter that was not 0 (amount: minus the total it had
 * when the write applied), and the event entries.
 */
export function resetConsumptionStage(ledger: LedgerTemplate, events: EventOutboxEntry[]): QueryDocument {
  const prefix = `${randomUUID()}:`;
  const licenseEntry = ledgerOutboxEntryExpression(ledger, { id: `${prefix}license`, scope: 'license', featureCode: null, amount: { $multiply: [-1, { $ifNull: ['$consumption.total', 0] }] } });
  const featureId = { $concat: [prefix, 'feature:', '$$f.code'] };
  const featureEntries = {
    $map: {
      input: { $ifNull: ['$features', []] },
      as: 'f',
      in: ledgerOutboxEntryExpression(ledger, { id: featureId, scope: 'feature', featureCode: '$$f.code', amount: { $multiply: [-1, { $ifNull: ['$$f.total', 0] }] } }),
    },
  };
  return {
    $set: {
      outbox: outboxAppendExpression({ $concatArrays: [[licenseEntry], featureEntries] }, events),
      consumption: { $mergeObjects: ['$consumption', { total: 0 }] },
      features: { $map: { input: { $ifNull: ['$features', []] }, as: 'f', in: { $mergeObjects: ['$$f', { total: 0 }] } } },
      updatedAt: ledger.at,
    },
  };
}

/**
 * What a device gives back when its seat is freed: its uses of every floating meter (the feature, or
 * the whole license, floats), with each feature's position as read (the release is guarded by them).
 */
export function floatingUsesOf(license: License, deviceId: number): FloatingUses[] {
  const floats = license.isFloating || license.isFloatingCloud;
  return license.features.flatMap((f, index) => (floats || f.isFloating || f.isFloatingCloud ? [{ code: f.code, index, uses: f.uses[String(deviceId)] ?? 0 }] : []));
}

/** The query form of a LicenseLocator: the license it names within the account. */
/** An email as it is compared: license users' emails are unique and matched ignoring case and surrounding spaces. */
export function emailKeyOf(email: string): string {
  return email.trim().toLowerCase();
}

/** The license user of `license` a login names (`username` is an email, matched as emailKeyOf compares). */
export function licenseUserNamed(license: License, username: string): License['users'][number] | undefined {
  const key = emailKeyOf(username);
  return license.users.find((u) => emailKeyOf(u.email) === key);
}

export function licenseLocatorFilter(accountId: number, locator: LicenseLocator): QueryDocument {
  if ('licenseId' in locator) return { _id: locator.licenseId, accountId };
  if ('key' in locator) return { accountId, productCode: locator.productCode, key: locator.key };
  return { accountId, productCode: locator.productCode, 'users.emailKey': emailKeyOf(locator.username) };
}

/** Why no license matches `locator`: `product_not_found` when it names a product the account does not have, else `license_not_found`. */
export async function licenseMissingError(products: ProductLookup, accountId: number, locator: LicenseLocator): Promise<DomainError> {
  if ('productCode' in locator && !(await products.productExists(accountId, locator.productCode))) {
    return new DomainError('product_not_found', 'Provided product was not found');
  }
  return new DomainError('license_not_found', 'License not found');
}

/**
 * The license `locator` names, as stored; throws `product_not_found` / `license_not_found` when there
 * is none, or when `pinnedId` is given and the license found has another id.
 */
export async function locateLicense(
  meters: Pick<LicenseMetersPort, 'find'>,
  products: ProductLookup,
  accountId: number,
  locator: LicenseLocator,
  pinnedId?: number,
): Promise<NonNullable<Awaited<ReturnType<LicenseMetersPort['find']>>>> {
  const found = await meters.find(accountId, locator);
  if (!found) throw await licenseMissingError(products, accountId, locator);
  if (pinnedId !== undefined && found.id !== pinnedId) throw new DomainError('license_not_found', 'License not found');
  return found;
}

/** How often a write that lost a race (its guard failed, the re-read shows nothing that refuses it) is tried. */
export const MAX_ATTEMPTS = 6;

/** What an attempt of `retryOnConflict` returns when the write lost a race and is worth trying again. */
export const RETRY: unique symbol = Symbol('retry');

/**
 * What an attempt returns when its write missed only because the counter moved to where the change
 * reaches other alert thresholds than it expected (`thresholds_moved`): other writes were made, so it
 * is tried again without using up MAX_ATTEMPTS, at most MAX_MOVED_ATTEMPTS times.
 */
export const MOVED: unique symbol = Symbol('moved');

/** How often a write may miss because the counter moved across alert thresholds (each miss follows another write's success). */
export const MAX_MOVED_ATTEMPTS = 32;

/**
 * The retry-on-conflict policy of every guarded write on a license: runs `attempt` (with its number,
 * from 0) until it returns something other than RETRY or MOVED, at most MAX_ATTEMPTS times for
 * RETRY and MAX_MOVED_ATTEMPTS more for MOVED; then throws `concurrent_modification`. Errors thrown
 * by an attempt end the loop.
 */
export async function retryOnConflict<T>(attempt: (n: number) => Promise<T | typeof RETRY | typeof MOVED>): Promise<T> {
  let moved = 0;
  for (let n = 0; n < MAX_ATTEMPTS; n += 1) {
    const outcome = await attempt(n + moved);
    if (outcome === MOVED && moved < MAX_MOVED_ATTEMPTS) {
      moved += 1;
      n -= 1;
      continue;
    }
    if (outcome !== RETRY && outcome !== MOVED) return outcome as T;
  }
  throw new DomainError('concurrent_modification', 'The license changed concurrently too often; retry the request');
}

/**
 * Starts the next period of a meter whose period has ended (a `period_due` refusal): total back to 0
 * and the next reset one period after `now`, through the repository's guarded reset (of concurrent
 * callers exactly one resets). The reset's ledger entry is moved to the ledger at once, as every
 * change's is, so a change refused after it (over the new period's limit) leaves nothing pending.
 * The caller then tries its change again.
 */
export async function resetDuePeriod(
  meters: Pick<LicenseMetersPort, 'resetPeriod'>,
  events: Pick<EventOutbox, 'settle'>,
  license: Pick<License, 'accountId' | 'id'>,
  target: MeterTarget,
  meter: Pick<MeterState, 'period' | 'resetAt' | 'total'>,
  now: Date,
): Promise<void> {
  if (!meter.period || meter.resetAt === null) return;
  const reset = await meters.resetPeriod(license.accountId, license.id, target, { resetAt: meter.resetAt, total: meter.total }, periodEnd(meter.period, now), now);
  if (!reset) return;
  const ledger = completeLedgerEntries(reset.license, reset.pending.filter((e) => isEntryOf(e, target)));
  await events.settle({ licenseId: license.id }, license.id, [], { license: reset.license, ...(reset.narrowed ? { narrowed: true } : {}) }, ledger);
}
