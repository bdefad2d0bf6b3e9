import { DomainError } from './errors.js';
import { LedgerEvent, type LedgerEntry, type License, type MeterScope } from './types.js';

/**
 * Usage reports from the consumption ledger: sums per interval aligned in a time zone, and the raw
 * entries page by page. What counts as usage is decided here, once (`COUNTED_EVENTS`); the
 * repository only sums the events it is given over the boundaries it is given.
 */

/**
 * The ledger events that are usage: consumptions (online and synced from offline), an activation's
 * uses of a meter, and the uses given back with a device's seat (the reverse of counted uses, so
 * the counter and the report move together). Not usage: a vendor setting a total (`totalSet`) or
 * resetting the license (`reset`), and a period's end (`periodReset`): they move the counter without
 * anything being consumed.
 */
export const COUNTED_EVENTS: readonly LedgerEvent[] = [LedgerEvent.consumption, LedgerEvent.offlineConsumption, LedgerEvent.activationUses, LedgerEvent.release];

export function isCountedEvent(event: LedgerEvent): boolean {
  return COUNTED_EVENTS.includes(event);
}

export const USAGE_INTERVALS = ['hour', 'day', 'week', 'month'] as const;
export type UsageInterval = (typeof USAGE_INTERVALS)[number];

/** At most this many buckets in one report (a longer range asks for a larger interval). */
export const MAX_USAGE_BUCKETS = 10_000;

export interface UsageAmounts {
  consumed: number;
  /** Sum of the negative amounts (0 or less). */
  refunded: number;
  net: number;
  count: number;
}

export interface UsageBucket extends UsageAmounts {
  start: Date;
  end: Date;
}

/** Which entries of one license a report or a ledger page reads. */
export interface LedgerSelection {
  accountId: number;
  licenseId: number;
  /** undefined: every counter (ledger pages only). */
  scope?: MeterScope;
  featureCode?: string;
  deviceId?: number;
  from?: Date;
  to?: Date;
}

/** Where a ledger page continues: after this entry in ledger order (time, then id). */
export interface LedgerPosition {
  at: Date;
  id: string;
}

/**
 * What a report sums: the ledger's entries, or the rollups the retention job made of the entries
 * before its mark (see domain/ledger-retention.ts; a rollup counts at its slot's start).
 */
export type UsageSource = 'entries' | 'rollups';

export interface UsagePort {
  /** The retention mark: the entries before it are summarised into rollups and may be gone (null: none are). */
  summarisedBefore(): Promise<Date | null>;
  /**
   * Sums the selected entries (or rollups) with one of `events` per bucket, `boundaries[i]` to
   * `boundaries[i + 1]` (the first one inclusive, the next exclusive), of `selection.from` to
   * `selection.to`. Returns the non-empty buckets by index.
   */
  sumByBucket(
    selection: LedgerSelection & { from: Date; to: Date },
    events: readonly LedgerEvent[],
    boundaries: readonly Date[],
    source: UsageSource,
  ): Promise<Array<UsageAmounts & { index: number }>>;
  /**
   * The same sums for several licenses of the account in one read: the entries of each of
   * `licenseIds` (and the selection's scope and feature) per license and bucket.
   */
  sumByLicenseAndBucket(
    selection: Omit<LedgerSelection, 'licenseId'> & { licenseIds: readonly number[]; from: Date; to: Date },
    events: readonly LedgerEvent[],
    boundaries: readonly Date[],
    source: UsageSource,
  ): Promise<Array<UsageAmounts & { licenseId: number; index: number }>>;
  /** Every selected entry after `after`, in ledger order, as the database yields them (not read whole). */
  stream(selection: LedgerSelection, after: LedgerPosition | null): AsyncIterable<LedgerEntry>;
  /** Up to `limit` selected entries after `after`, in ledger order. */
  page(selection: LedgerSelection, after: LedgerPosition | null, limit: number): Promise<LedgerEntry[]>;
}

export interface UsageLicenses {
  findById(accountId: number, id: number): Promise<License | null>;
  /** The product's licenses, oldest first, `skip` then up to `limit`, and how many there are. */
  list(accountId: number, filter: { productId: number }, skip: number, limit: number): Promise<{ items: License[]; count: number }>;
}

export interface UsageProducts {
  /** Throws `product_not_found` when the account has no such product. */
  getProduct(accountId: number, productId: number): Promise<unknown>;
}

export interface ProductUsageRequest extends Omit<UsageRequest, 'licenseId' | 'deviceId'> {
  productId: number;
  skip: number;
  limit: number;
}

export interface UsageRequest {
  accountId: number;
  licenseId: number;
  /** A feature's code; without one, the license-level counter. */
  featureCode?: string;
  deviceId?: number;
  from: Date;
  to: Date;
  interval: UsageInterval;
  timeZone: string;
}

export interface UsageReport {
  scope: MeterScope;
  buckets: UsageBucket[];
  totals: UsageAmounts;
}

export interface LedgerPageRequest extends Omit<LedgerSelection, 'scope'> {
  after: LedgerPosition | null;
  limit: number;
}

export class UsageService {
  constructor(
    private readonly repo: UsagePort,
    private readonly licenses: UsageLicenses,
    private readonly products: UsageProducts,
  ) {}

  async report(request: UsageRequest): Promise<UsageReport> {
    const boundaries = bucketBoundaries(request.from, request.to, request.interval, request.timeZone);
    await this.licenseOf(request.accountId, request.licenseId);
    const scope = scopeOf(request);
    const sums = await this.acrossMark(request, (source, range) => this.repo.sumByBucket({ ...selectionOf(request), scope, ...range }, COUNTED_EVENTS, boundaries, source));
    return reportOf(scope, boundaries, sums);
  }

  /**
   * One page of the product's licenses (oldest first), each with the report `report` gives for it,
   * from one aggregation over the page's licenses.
   */
  async productReport(request: ProductUsageRequest): Promise<{ count: number; items: Array<{ licenseId: number; report: UsageReport }> }> {
    const boundaries = bucketBoundaries(request.from, request.to, request.interval, request.timeZone);
    await this.products.getProduct(request.accountId, request.productId);
    const { items, count } = await this.licenses.list(request.accountId, { productId: request.productId }, request.skip, request.limit);
    const scope = scopeOf(request);
    const licenseIds = items.map((l) => l.id);
    const sums =
      licenseIds.length === 0
        ? []
        : await this.acrossMark(request, (source, range) =>
            this.repo.sumByLicenseAndBucket(
              { accountId: request.accountId, licenseIds, scope, ...(request.featureCode !== undefined ? { featureCode: request.featureCode } : {}), ...range },
              COUNTED_EVENTS,
              boundaries,
              source,
            ),
          );
    return { count, items: licenseIds.map((licenseId) => ({ licenseId, report: reportOf(scope, boundaries, sums.filter((s) => s.licenseId === licenseId)) })) };
  }

  /** One page of the license's ledger, and where the next one starts (null on the last page). */
  async ledgerPage(request: LedgerPageRequest): Promise<{ entries: LedgerEntry[]; next: LedgerPosition | null }> {
    const selection = await this.ledgerSelection(request);
    // One entry more than asked tells whether there is a next page.
    const found = await this.repo.page(selection, request.after, request.limit + 1);
    const entries = found.slice(0, request.limit);
    const last = entries[entries.length - 1];
    return { entries, next: found.length > request.limit && last ? { at: last.at, id: last.id } : null };
  }

  /**
   * Every entry a ledger page would list from `request.after` on, in ledger order, for an export:
   * checked (range, license) before the first entry is read, then yielded as read.
   */
  async ledgerEntries(request: Omit<LedgerPageRequest, 'limit'>): Promise<AsyncIterable<LedgerEntry>> {
    return this.repo.stream(await this.ledgerSelection(request), request.after);
  }

  private async ledgerSelection(request: Omit<LedgerPageRequest, 'limit' | 'after'>): Promise<LedgerSelection> {
    if (request.from && request.to && request.from.getTime() >= request.to.getTime()) {
      throw new DomainError('invalid_input', '`to` must be after `from`', { field: 'to' });
    }
    await this.licenseOf(request.accountId, request.licenseId);
    return { ...selectionOf(request), ...(request.featureCode !== undefined ? { scope: 'feature' as const } : {}), ...(request.from ? { from: request.from } : {}), ...(request.to ? { to: request.to } : {}) };
  }

  /**
   * The sums of `[from, to)`: from the rollups before the retention mark, from the entries after it.
   * The job moves the mark before it deletes the entries behind it, so a report that read the same
   * mark before and after its sums read every unit once; one that saw the mark move reads again.
   */
  private async acrossMark<T>(request: { from: Date; to: Date }, sum: (source: UsageSource, range: { from: Date; to: Date }) => Promise<T[]>): Promise<T[]> {
    const [from, to] = [request.from.getTime(), request.to.getTime()];
    for (let attempt = 1; ; attempt += 1) {
      const mark = (await this.repo.summarisedBefore())?.getTime() ?? Number.NEGATIVE_INFINITY;
      const parts: Array<Promise<T[]>> = [];
      if (mark > from) parts.push(sum('rollups', { from: request.from, to: new Date(Math.min(mark, to)) }));
      if (mark < to) parts.push(sum('entries', { from: new Date(Math.max(mark, from)), to: request.to }));
      const sums = (await Promise.all(parts)).flat();
      const after = (await this.repo.summarisedBefore())?.getTime() ?? Number.NEGATIVE_INFINITY;
      if (after === mark || attempt >= MARK_ATTEMPTS) return sums;
    }
  }

  private async licenseOf(accountId: number, licenseId: number): Promise<License> {
    const license = await this.licenses.findById(accountId, licenseId);
    if (!license) throw new DomainError('license_not_found', 'License not found');
    return license;
  }
}

function scopeOf(request: { featureCode?: string }): MeterScope {
  return request.featureCode === undefined ? 'license' : 'feature';
}

/** How often a report reads again when the retention mark moved while it read (it moves once a batch). */
const MARK_ATTEMPTS = 5;

/** Every bucket of `boundaries` (empty ones with zeros) from the non-empty sums (a bucket's rollups and entries added), and their totals. */
function reportOf(scope: MeterScope, boundaries: readonly Date[], sums: ReadonlyArray<UsageAmounts & { index: number }>): UsageReport {
  const byIndex = new Map<number, UsageAmounts>();
  for (const s of sums) {
    const b = byIndex.get(s.index);
    byIndex.set(s.index, b ? { consumed: b.consumed + s.consumed, refunded: b.refunded + s.refunded, net: b.net + s.net, count: b.count + s.count } : s);
  }
  const buckets: UsageBucket[] = [];
  const totals: UsageAmounts = { consumed: 0, refunded: 0, net: 0, count: 0 };
  for (let i = 0; i + 1 < boundaries.length; i += 1) {
    const s = byIndex.get(i);
    const amounts = { consumed: s?.consumed ?? 0, refunded: s?.refunded ?? 0, net: s?.net ?? 0, count: s?.count ?? 0 };
    buckets.push({ start: boundaries[i]!, end: boundaries[i + 1]!, ...amounts });
    totals.consumed += amounts.consumed;
    totals.refunded += amounts.refunded;
    totals.net += amounts.net;
    totals.count += amounts.count;
  }
  return { scope, buckets, totals };
}

function selectionOf(r: { accountId: number; licenseId: number; featureCode?: string; deviceId?: number }): LedgerSelection {
  return {
    accountId: r.accountId,
    licenseId: r.licenseId,
    ...(r.featureCode !== undefined ? { featureCode: r.featureCode } : {}),
    ...(r.deviceId !== undefined ? { deviceId: r.deviceId } : {}),
  };
}

// ---- Interval boundaries in a time zone (Intl only) ----

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA time zone name this runtime knows (offsets such as `+01:00` are not names). */
export function isTimeZone(timeZone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's wall clock at instant `t`, as milliseconds of the same reading in UTC. */
function wallMs(t: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const seconds = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return seconds + (((t % 1000) + 1000) % 1000);
}

/**
 * The first instant at which the zone's clock reads `wall` (a wall-clock reading as UTC
 * milliseconds): the earlier one when the reading happens twice (clocks set back), the moment the
 * clock jumps over it when it never happens (clocks set forward).
 */
function instantOfWall(wall: number, timeZone: string): number {
  const offsets = [...new Set([wallMs(wall - DAY, timeZone) - (wall - DAY), wallMs(wall + DAY, timeZone) - (wall + DAY)])];
  const exact = offsets.map((o) => wall - o).filter((t) => wallMs(t, timeZone) === wall);
  if (exact.length > 0) return Math.min(...exact);
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  if (lo > hi) [lo, hi] = [hi, lo];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallMs(mid, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The wall-clock reading (UTC milliseconds of it) at which the calendar unit after the one containing `wall` starts. */
function nextUnitWall(wall: number, interval: Exclude<UsageInterval, 'hour'>): number {
  const d = new Date(wall);
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  switch (interval) {
    case 'day':
      return Date.UTC(y, m, day + 1);
    case 'week':
      return Date.UTC(y, m, day - ((d.getUTCDay() + 6) % 7) + 7);
    case 'month':
      return Date.UTC(y, m + 1, 1);
  }
}

/** The first interval boundary after `t`. */
function nextBoundary(t: number, interval: UsageInterval, timeZone: string): number {
  if (interval === 'hour') {
    // Usually the next local hour is where the current offset puts it (one clock reading).
    const guess = t - (wallMs(t, timeZone) % HOUR) + HOUR;
    if (wallMs(guess, timeZone) % HOUR === 0) return guess;
    // Otherwise search: every offset in use is a multiple of 15 minutes, so a local hour starts on a UTC quarter hour.
    let c = Math.floor(t / (15 * MINUTE)) * 15 * MINUTE;
    for (let i = 0; i < 8; i += 1) {
      c += 15 * MINUTE;
      if (wallMs(c, timeZone) % HOUR === 0) return c;
    }
    return t + HOUR;
  }
  let wall = wallMs(t, timeZone);
  for (;;) {
    wall = nextUnitWall(wall, interval);
    const at = instantOfWall(wall, timeZone);
    if (at > t) return at;
  }
}

/**
 * The buckets' boundaries over `[from, to)`: `from`, every hour, day, week (Monday) or month start
 * of the zone's calendar in between, then `to`. More than MAX_USAGE_BUCKETS buckets is refused.
 */
export function bucketBoundaries(from: Date, to: Date, interval: UsageInterval, timeZone: string): Date[] {
  if (!isTimeZone(timeZone)) throw new DomainError('invalid_input', `tz: ${JSON.stringify(timeZone)} is not an IANA time zone`, { field: 'timeZone' });
  const [start, end] = [from.getTime(), to.getTime()];
  if (!(start < end)) throw new DomainError('invalid_input', '`to` must be after `from`', { field: 'to' });
  const boundaries = [start];
  for (let t = nextBoundary(start, interval, timeZone); t < end; t = nextBoundary(t, interval, timeZone)) {
    boundaries.push(t);
    if (boundaries.length > MAX_USAGE_BUCKETS) {
      throw new DomainError('invalid_input', `The range has more than ${MAX_USAGE_BUCKETS} ${interval} buckets: ask for a shorter range or a larger interval`, { field: 'interval' });
    }
  }
  boundaries.push(end);
  return boundaries.map((ms) => new Date(ms));
}
