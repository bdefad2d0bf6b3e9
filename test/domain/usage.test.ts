import { describe, expect, it } from 'vitest';
import { DomainError } from '../../server/domain/errors.js';
import { LedgerEvent, type LedgerEntry, type License } from '../../server/domain/types.js';
import { bucketBoundaries, COUNTED_EVENTS, isCountedEvent, MAX_USAGE_BUCKETS, UsageService, type UsagePort } from '../../server/domain/usage.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const utc = (s: string) => new Date(s);

describe('usage buckets: interval boundaries in a time zone', () => {
  it('starts at from, ends at to, and aligns on the zone calendar in between (UTC)', () => {
    expect(iso(bucketBoundaries(utc('2026-11-01T06:00:00Z'), utc('2026-11-03T12:00:00Z'), 'day', 'UTC'))).toEqual([
      '2026-11-01T06:00:00.000Z',
      '2026-11-02T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
      '2026-11-03T12:00:00.000Z',
    ]);
  });

  it('a week starts on Monday at local midnight, also across a DST change (New York, 2026-03-08)', () => {
    expect(iso(bucketBoundaries(utc('2026-03-01T00:00:00Z'), utc('2026-03-20T00:00:00Z'), 'week', 'America/New_York'))).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-02T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
      '2026-03-16T04:00:00.000Z',
      '2026-03-20T00:00:00.000Z',
    ]);
  });

  it('months at local midnight of the 1st in a half-hour zone (Asia/Kolkata)', () => {
    expect(iso(bucketBoundaries(utc('2026-01-15T00:00:00Z'), utc('2026-04-01T00:00:00Z'), 'month', 'Asia/Kolkata'))).toEqual([
      '2026-01-15T00:00:00.000Z',
      '2026-01-31T18:30:00.000Z',
      '2026-02-28T18:30:00.000Z',
      '2026-03-31T18:30:00.000Z',
      '2026-04-01T00:00:00.000Z',
    ]);
  });

  it('a day whose midnight does not exist starts when the clock jumps over it (America/Santiago, 2026-09-06)', () => {
    expect(iso(bucketBoundaries(utc('2026-09-05T00:00:00Z'), utc('2026-09-08T00:00:00Z'), 'day', 'America/Santiago'))).toEqual([
      '2026-09-05T00:00:00.000Z',
      '2026-09-05T04:00:00.000Z',
      '2026-09-06T04:00:00.000Z', // 00:00 -04 is 01:00 -03: the 6th is 23 hours long
      '2026-09-07T03:00:00.000Z',
      '2026-09-08T00:00:00.000Z',
    ]);
  });

  it('hours follow the clock: 23 or 25 a day in Berlin, and a half-hour change (Lord Howe, 2026-04-05)', () => {
    expect(bucketBoundaries(utc('2026-03-28T23:00:00Z'), utc('2026-03-29T22:00:00Z'), 'hour', 'Europe/Berlin')).toHaveLength(24); // 23 buckets
    expect(bucketBoundaries(utc('2026-10-24T22:00:00Z'), utc('2026-10-25T23:00:00Z'), 'hour', 'Europe/Berlin')).toHaveLength(26); // 25 buckets
    expect(iso(bucketBoundaries(utc('2026-04-04T13:00:00Z'), utc('2026-04-04T17:00:00Z'), 'hour', 'Australia/Lord_Howe'))).toEqual([
      '2026-04-04T13:00:00.000Z',
      '2026-04-04T14:00:00.000Z', // 01:00 +11
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30 (02:00 +11 became 01:30 +10:30)
      '2026-04-04T16:30:00.000Z',
      '2026-04-04T17:00:00.000Z',
    ]);
  });

  it('every inner day boundary reads local midnight, in many zones over two years', () => {
    for (const tz of ['Europe/Berlin', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/St_Johns', 'UTC']) {
      const b = bucketBoundaries(utc('2025-01-01T00:00:00Z'), utc('2027-01-01T00:00:00Z'), 'day', tz);
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      const days = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
      for (let i = 1; i < b.length - 1; i += 1) {
        expect(b[i]!.getTime()).toBeGreaterThan(b[i - 1]!.getTime());
        // Local midnight, or (where midnight is skipped) the first minute of the day.
        expect(['00:00', '01:00'], `${tz} ${b[i]!.toISOString()}`).toContain(local.format(b[i]!));
        expect(days.format(b[i]!)).not.toBe(days.format(new Date(b[i]!.getTime() - 1)));
      }
      expect(b.length).toBeGreaterThanOrEqual(730);
    }
  });

  it('refuses an unknown zone, an offset, an empty or reversed range and more than MAX_USAGE_BUCKETS buckets', () => {
    const from = utc('2026-01-01T00:00:00Z');
    const code = (f: () => unknown) => {
      try {
        f();
        return 'no error';
      } catch (err) {
        return err instanceof DomainError ? err.code : String(err);
      }
    };
    expect(code(() => bucketBoundaries(from, utc('2026-01-02T00:00:00Z'), 'day', 'Mars/Olympus_Mons'))).toBe('invalid_input');
    expect(code(() => bucketBoundaries(from, utc('2026-01-02T00:00:00Z'), 'day', '+01:00'))).toBe('invalid_input');
    expect(code(() => bucketBoundaries(from, from, 'day', 'UTC'))).toBe('invalid_input');
    expect(code(() => bucketBoundaries(utc('2026-01-02T00:00:00Z'), from, 'day', 'UTC'))).toBe('invalid_input');
    expect(bucketBoundaries(from, new Date(from.getTime() + MAX_USAGE_BUCKETS * 3_600_000), 'hour', 'UTC')).toHaveLength(MAX_USAGE_BUCKETS + 1);
    expect(code(() => bucketBoundaries(from, new Date(from.getTime() + (MAX_USAGE_BUCKETS + 1) * 3_600_000), 'hour', 'UTC'))).toBe('invalid_input');
  });
});

describe('UsageService', () => {
  const license = { id: 7, accountId: 1 } as License;
  const licenses = {
    findById: async (accountId: number, id: number) => (accountId === 1 && id === 7 ? license : null),
    list: async (accountId: number) => (accountId === 1 ? { items: [license], count: 1 } : { items: [], count: 0 }),
  };
  async function* noEntries(): AsyncIterable<LedgerEntry> {}
  const products = {
    getProduct: async (accountId: number) => {
      if (accountId !== 1) throw new DomainError('product_not_found', 'Product not found');
      return {};
    },
  };

  it('counts consumptions, activation uses and releases; not vendor changes or period ends', () => {
    expect([...COUNTED_EVENTS].sort()).toEqual([LedgerEvent.consumption, LedgerEvent.offlineConsumption, LedgerEvent.activationUses, LedgerEvent.release].sort());
    for (const e of [LedgerEvent.totalSet, LedgerEvent.reset, LedgerEvent.periodReset]) expect(isCountedEvent(e)).toBe(false);
  });

  it('lists every bucket, empty ones with zeros, and sums the totals; asks the port for the counted events of the scope', async () => {
    const asked: unknown[] = [];
    const port: UsagePort = {
      summarisedBefore: async () => null,
      sumByBucket: async (selection, events, boundaries) => {
        asked.push({ selection, events, boundaries: boundaries.length });
        return [
          { index: 0, consumed: 5, refunded: -1, net: 4, count: 3 },
          { index: 2, consumed: 2, refunded: 0, net: 2, count: 1 },
        ];
      },
      sumByLicenseAndBucket: async () => [],
      stream: noEntries, page: async () => [],
    };
    const report = await new UsageService(port, licenses, products).report({ accountId: 1, licenseId: 7, from: utc('2026-11-01T00:00:00Z'), to: utc('2026-11-04T00:00:00Z'), interval: 'day', timeZone: 'UTC' });
    expect(report.scope).toBe('license');
    expect(report.buckets.map((b) => [b.start.toISOString(), b.net, b.count])).toEqual([
      ['2026-11-01T00:00:00.000Z', 4, 3],
      ['2026-11-02T00:00:00.000Z', 0, 0],
      ['2026-11-03T00:00:00.000Z', 2, 1],
    ]);
    expect(report.totals).toEqual({ consumed: 7, refunded: -1, net: 6, count: 4 });
    expect(asked).toEqual([{ selection: { accountId: 1, licenseId: 7, scope: 'license', from: utc('2026-11-01T00:00:00Z'), to: utc('2026-11-04T00:00:00Z') }, events: COUNTED_EVENTS, boundaries: 4 }]);
  });

  it('reads rollups before the retention mark and entries after it, adds them per bucket, and reads again when the mark moved meanwhile', async () => {
    // The job moves the mark from 2 to 3 November while the first read is under way.
    const marks = [utc('2026-11-02T00:00:00Z'), utc('2026-11-03T00:00:00Z')];
    let reads = 0;
    const asked: Array<[string, string, string]> = [];
    const port: UsagePort = {
      summarisedBefore: async () => marks[Math.min(reads++, 1)]!,
      sumByBucket: async (selection, _events, _boundaries, source) => {
        asked.push([source, selection.from.toISOString(), selection.to.toISOString()]);
        // One unit a day: from the rollups before the mark, from the entries after it.
        const days = (selection.to.getTime() - selection.from.getTime()) / 86_400_000;
        const first = (selection.from.getTime() - utc('2026-11-01T00:00:00Z').getTime()) / 86_400_000;
        return Array.from({ length: days }, (_, i) => ({ index: first + i, consumed: 1, refunded: 0, net: 1, count: 1 }));
      },
      sumByLicenseAndBucket: async () => [],
      stream: noEntries,
      page: async () => [],
    };
    const report = await new UsageService(port, licenses, products).report({ accountId: 1, licenseId: 7, from: utc('2026-11-01T00:00:00Z'), to: utc('2026-11-04T00:00:00Z'), interval: 'day', timeZone: 'UTC' });
    expect(report.buckets.map((b) => b.net)).toEqual([1, 1, 1]);
    expect(asked).toEqual([
      ['rollups', '2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z'],
      ['entries', '2026-11-02T00:00:00.000Z', '2026-11-04T00:00:00.000Z'],
      // The mark moved: read again, with the new one (read twice, the same both times).
      ['rollups', '2026-11-01T00:00:00.000Z', '2026-11-03T00:00:00.000Z'],
      ['entries', '2026-11-03T00:00:00.000Z', '2026-11-04T00:00:00.000Z'],
    ]);
    expect(reads).toBe(4);
  });

  it("answers license_not_found for another account's license, before reading the ledger", async () => {
    let read = false;
    const port: UsagePort = { summarisedBefore: async () => null, sumByBucket: async () => ((read = true), []), sumByLicenseAndBucket: async () => ((read = true), []), stream: noEntries, page: async () => ((read = true), []) };
    const service = new UsageService(port, licenses, products);
    await expect(service.report({ accountId: 2, licenseId: 7, from: utc('2026-11-01T00:00:00Z'), to: utc('2026-11-02T00:00:00Z'), interval: 'day', timeZone: 'UTC' })).rejects.toMatchObject({ code: 'license_not_found' });
    await expect(service.ledgerPage({ accountId: 2, licenseId: 7, after: null, limit: 10 })).rejects.toMatchObject({ code: 'license_not_found' });
    expect(read).toBe(false);
  });

  it("a product's report: product_not_found before reading licenses or the ledger; each license's buckets from one read of the page's licenses", async () => {
    const asked: unknown[] = [];
    const port: UsagePort = {
      summarisedBefore: async () => null,
      sumByBucket: async () => [],
      sumByLicenseAndBucket: async (selection, events, boundaries) => {
        asked.push({ selection, events, boundaries: boundaries.length });
        return [{ licenseId: 7, index: 1, consumed: 3, refunded: -1, net: 2, count: 2 }];
      },
      stream: noEntries, page: async () => [],
    };
    const service = new UsageService(port, licenses, products);
    const range = { from: utc('2026-11-01T00:00:00Z'), to: utc('2026-11-03T00:00:00Z'), interval: 'day' as const, timeZone: 'UTC' };
    await expect(service.productReport({ accountId: 2, productId: 5, ...range, skip: 0, limit: 20 })).rejects.toMatchObject({ code: 'product_not_found' });
    expect(asked).toEqual([]);
    const { count, items } = await service.productReport({ accountId: 1, productId: 5, ...range, skip: 0, limit: 20 });
    expect(count).toBe(1);
    expect(items.map((i) => [i.licenseId, i.report.buckets.map((b) => b.net), i.report.totals])).toEqual([[7, [0, 2], { consumed: 3, refunded: -1, net: 2, count: 2 }]]);
    expect(asked).toEqual([{ selection: { accountId: 1, licenseIds: [7], scope: 'license', ...{ from: range.from, to: range.to } }, events: COUNTED_EVENTS, boundaries: 3 }]);
  });

  it('a ledger page has a next position only when more entries follow', async () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, at: utc(`2026-11-01T0${i}:00:00Z`) }) as LedgerEntry);
    const port: UsagePort = { summarisedBefore: async () => null, sumByBucket: async () => [], sumByLicenseAndBucket: async () => [], stream: noEntries, page: async (_s, after, limit) => entries.filter((e) => !after || e.id > after.id).slice(0, limit) };
    const service = new UsageService(port, licenses, products);
    const first = await service.ledgerPage({ accountId: 1, licenseId: 7, after: null, limit: 3 });
    expect(first.entries.map((e) => e.id)).toEqual(['e0', 'e1', 'e2']);
    expect(first.next).toEqual({ at: entries[2]!.at, id: 'e2' });
    const last = await service.ledgerPage({ accountId: 1, licenseId: 7, after: first.next, limit: 2 });
    expect(last.entries.map((e) => e.id)).toEqual(['e3', 'e4']);
    expect(last.next).toBeNull();
  });
});
