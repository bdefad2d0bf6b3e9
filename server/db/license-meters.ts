import type { FilterQuery } from './query-types.js';
import { toLicense, type LicenseDocument } from './license-document.js';
import { ledgerOutboxEntry, pendingLedgerEntries } from '../domain/ledger-entries.js';
import type { Models } from './models.js';
import type { License } from '../domain/types.js';
import type { LicenseLocator, LicenseMetersPort, LicenseWithPending, MeterChange, MeterTarget, MultiFeatureChange, SeatLocator } from '../domain/ports.js';
import type { OutboxEntry } from '../domain/ports.js';

const RECENT_OPS_KEPT = 1000;

export function licenseLocatorFilter(accountId: number, locator: LicenseLocator): FilterQuery {
  if ('licenseId' in locator) return { _id: locator.licenseId, accountId };
  if ('key' in locator) return { accountId, productCode: locator.productCode, key: locator.key };
  return { accountId, productCode: locator.productCode, 'users.email': locator.username };
}

export function seatFilter(seat: SeatLocator): FilterQuery {
  const match = 'hardwareId' in seat ? { hardwareId: seat.hardwareId } : { activationId: seat.activationId };
  return { seats: { $elemMatch: { ...match, blacklisted: false } } };
}

/** `$expr` conditions on the targeted meter: the total may not pass the ceiling (and the call's cap). */
function ceilingGuard(change: MeterChange): object | undefined {
  if (change.amount <= 0) return undefined;
  const m = change.target.scope === 'license' ? '$consumption' : '$$m';
  const newTotal = { $add: [`${m}.total`, change.amount] };
  const conditions: object[] = [{ $or: [{ $eq: [`${m}.ceiling`, null] }, { $lte: [newTotal, `${m}.ceiling`] }] }];
  const cap = change.overageCap;
  if (cap && (cap.allowOverages === false || (cap.maxOverages !== undefined && cap.maxOverages > 0))) {
    const capValue = cap.allowOverages === false ? `${m}.max` : { $add: [`${m}.max`, cap.maxOverages] };
    conditions.push({ $or: [{ $eq: [`${m}.unlimited`, true] }, { $lte: [newTotal, capValue] }] });
  }
  const all = conditions.length === 1 ? conditions[0]! : { $and: conditions };
  if (change.target.scope === 'license') return all;
  return {
    $let: {
      vars: { m: { $arrayElemAt: [{ $filter: { input: '$features', as: 'f', cond: { $eq: ['$$f.code', change.target.code] } } }, 0] } },
      in: all,
    },
  };
}

/** Plain (non-`$expr`) conditions on the targeted meter: period not due, negatives, floors, expiry. */
function meterConditions(change: MeterChange, now: Date): FilterQuery {
  const c: FilterQuery = { $or: [{ resetAt: null }, { resetAt: { $gt: now } }] };
  if (change.amount < 0) {
    if (change.negatives === 'policy') c.allowNegative = true;
    c.total = { $gte: -change.amount };
    if (change.deviceUses !== undefined) c[`uses.${change.deviceUses}`] = { $gte: -change.amount };
  }
  return c;
}

export function meterChangeFilter(change: MeterChange): FilterQuery {
  const { now } = change;
  const and: FilterQuery[] = [{ $or: [{ validUntil: null }, { validUntil: { $gt: now } }] }];
  const filter: FilterQuery = { ...licenseLocatorFilter(change.accountId, change.license), enabled: true };
  if (change.seat) Object.assign(filter, seatFilter(change.seat));
  if (change.target.scope === 'license') {
    if (change.requireConsumptionLicense) filter.type = 'consumption';
    for (const [key, value] of Object.entries(meterConditions(change, now))) {
      if (key === '$or') and.push({ $or: (value as FilterQuery[]).map((o) => prefixKeys(o, 'consumption.')) });
      else filter[`consumption.${key}`] = value;
    }
  } else {
    filter.features = {
      $elemMatch: {
        code: change.target.code,
        ...meterConditions(change, now),
      },
    };
    and.push({ features: { $elemMatch: { code: change.target.code, $or: [{ expiryDate: null }, { expiryDate: { $gt: now } }] } } });
  }
  if (change.idempotencyKey !== undefined) filter['recentOps.key'] = { $ne: change.idempotencyKey };
  const expr = ceilingGuard(change);
  if (expr) filter.$expr = expr;
  filter.$and = and;
  return filter;
}

function prefixKeys(o: FilterQuery, prefix: string): FilterQuery {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [prefix + k, v]));
}

export function meterChangeUpdate(change: MeterChange): { update: object; arrayFilters?: object[] } {
  const gross = Math.max(change.amount, 0);
  const inc: Record<string, number> =
    change.target.scope === 'license'
      ? { 'consumption.total': change.amount, 'consumption.gross': gross }
      : { 'features.$[m].total': change.amount, 'features.$[m].gross': gross };
  if (change.target.scope === 'feature' && change.deviceUses !== undefined) inc[`features.$[m].uses.${change.deviceUses}`] = change.amount;
  const push: Record<string, unknown> = { outbox: { $each: [change.outbox, ...(change.events ?? [])] } };
  if (change.idempotencyKey !== undefined) {
    push.recentOps = { $each: [{ key: change.idempotencyKey, at: change.now }], $slice: -RECENT_OPS_KEPT };
  }
  return {
    update: { $inc: inc, $set: { updatedAt: change.now }, $push: push },
    ...(change.target.scope === 'feature' ? { arrayFilters: [{ 'm.code': change.target.code }] } : {}),
  };
}

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
  };
}

export function multiFeatureChangeFilter(multi: MultiFeatureChange): FilterQuery {
  const { now } = multi;
  const and: FilterQuery[] = [{ $or: [{ validUntil: null }, { validUntil: { $gt: now } }] }];
  const exprs: object[] = [];
  for (const c of multi.changes) {
    const single = singleChangeOf(multi, c);
    and.push({ features: { $elemMatch: { code: c.code, ...meterConditions(single, now) } } });
    and.push({ features: { $elemMatch: { code: c.code, $or: [{ expiryDate: null }, { expiryDate: { $gt: now } }] } } });
    const expr = ceilingGuard(single);
    if (expr) exprs.push(expr);
  }
  const filter: FilterQuery = { _id: multi.licenseId, accountId: multi.accountId, enabled: true, ...seatFilter(multi.seat), $and: and };
  for (const c of multi.changes) filter[`features.${c.index}.code`] = c.code;
  if (exprs.length > 0) filter.$expr = exprs.length === 1 ? exprs[0]! : { $and: exprs };
  return filter;
}

export function multiFeatureChangeUpdate(multi: MultiFeatureChange): object {
  const inc: Record<string, number> = {};
  for (const c of multi.changes) {
    inc[`features.${c.index}.total`] = c.amount;
    inc[`features.${c.index}.gross`] = Math.max(c.amount, 0);
    inc[`features.${c.index}.uses.${multi.deviceUses}`] = c.amount;
  }
  return { $inc: inc, $set: { updatedAt: multi.now }, $push: { outbox: { $each: [...multi.changes.map((c) => c.outbox), ...(multi.events ?? [])] } } };
}

function withPending(doc: LicenseDocument): LicenseWithPending {
  return { license: toLicense(doc), pending: pendingLedgerEntries(doc.outbox) };
}

/** The outbox as a write returns it: the ledger entries are needed to complete them, events are not. */
const AFTER_WRITE = { recentOps: 0 } as const;

/** The atomic counter operations on license documents. */
export class LicenseMetersRepository implements LicenseMetersPort {
  constructor(private readonly models: Models) {}

  /** Applies the change if every guard holds; returns the license after it, or null when a guard failed. */
  async apply(change: MeterChange): Promise<LicenseWithPending | null> {
    const { update, arrayFilters } = meterChangeUpdate(change);
    // The driver directly (filter and update are already in stored form): mongoose's query casting
    // is measurable per request on this hot path and changes nothing here.
    const doc = (await this.models.License.collection.findOneAndUpdate(meterChangeFilter(change) as never, update as never, {
      returnDocument: 'after',
      projection: AFTER_WRITE,
      ...(arrayFilters ? { arrayFilters } : {}),
    })) as LicenseDocument | null;
    return doc ? withPending(doc) : null;
  }

  /** Applies every change of `multi` if every guard holds (one atomic update); null when a guard failed. */
  async applyMany(multi: MultiFeatureChange): Promise<LicenseWithPending | null> {
    const doc = await this.models.License.findOneAndUpdate(multiFeatureChangeFilter(multi), multiFeatureChangeUpdate(multi), {
      returnDocument: 'after',
      projection: AFTER_WRITE,
      lean: true,
      strict: false,
    }).lean<LicenseDocument>();
    return doc ? withPending(doc) : null;
  }

  /** The license as stored (for explaining why a guard failed), with its recent idempotency keys and pending ledger entries. */
  async find(accountId: number, locator: LicenseLocator): Promise<(License & { recentOpKeys: string[]; pending: OutboxEntry[] }) | null> {
    const doc = (await this.models.License.collection.findOne(licenseLocatorFilter(accountId, locator) as never)) as LicenseDocument | null;
    return doc ? { ...toLicense(doc), recentOpKeys: (doc.recentOps ?? []).map((o) => o.key), pending: pendingLedgerEntries(doc.outbox) } : null;
  }

  /**
   * Starts a new period on a meter whose period has ended: total back to 0, next reset computed by the
   * caller, and a `period_reset` ledger entry (minus the total it closed with) in the same write.
   * Guarded by the old `resetAt` and the total as read, so of many concurrent callers exactly one
   * resets, and the entry's amount is exact.
   */
  async resetPeriod(accountId: number, licenseId: number, target: MeterTarget, due: { resetAt: Date; total: number }, nextResetAt: Date, now: Date): Promise<boolean> {
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
      const res = await this.models.License.collection.updateOne(
        { _id: licenseId, 'consumption.resetAt': due.resetAt, 'consumption.total': due.total } as never,
        { $set: { 'consumption.total': 0, 'consumption.resetAt': nextResetAt, updatedAt: now }, ...push } as never,
      );
      return res.modifiedCount === 1;
    }
    const res = await this.models.License.collection.updateOne(
      { _id: licenseId, features: { $elemMatch: { code: target.code, resetAt: due.resetAt, total: due.total } } } as never,
      // Per-activation uses are uses of the current period too: they restart with the total.
      { $set: { 'features.$[m].total': 0, 'features.$[m].uses': {}, 'features.$[m].resetAt': nextResetAt, updatedAt: now }, ...push } as never,
      { arrayFilters: [{ 'm.code': target.code, 'm.resetAt': due.resetAt }] },
    );
    return res.modifiedCount === 1;
  }
}
