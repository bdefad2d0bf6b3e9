/**
 * ENGINE-ONLY (engine internals; skipped when MONGODB_URI is set): ranges of dates on an index's
 * FIRST field, without an equality prefix (the TTL monitor, lease sweeps, the ledger's retention
 * job), read from the index's root group (storage/indexes.ts `orderedRange` with an empty prefix).
 *
 * - A property test: random documents (dates mostly; numbers, strings, null, missing, arrays of
 *   dates, Longs), inserts, updates and deletes, then random date/number ranges with sorts, skips
 *   and limits: the answers equal those without ordered reads and those of a collection without
 *   the index; the index built before or after the documents alike.
 * - The cost: a range of 100 among 20,000 documents examines about 100; a TTL sweep that expires
 *   100 of 20,000 reads 100 (20,000 without the root, as before).
 */
import fc from 'fast-check';
import { Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { runQuery } from '../commands/read.js';
import { orderedRanges, plannerStats } from '../query/planner.js';
import { Catalog } from '../storage/catalog.js';
import type { Collection } from '../storage/collection.js';
import { TtlMonitor } from '../storage/ttl.js';
import { keyString, type Doc } from '../values.js';

const date = fc.integer({ min: 0, max: 8 }).map((n) => new Date(n * 1000));
const odd = fc.constantFrom<unknown>(undefined, null, 'x', 3, Long.fromNumber(3), [new Date(2000), new Date(5000)], [], { d: new Date(1000) });
const value = fc.oneof({ weight: 30, arbitrary: date }, { weight: 1, arbitrary: odd });
const doc = fc.record({ t: value, c: fc.integer({ min: 0, max: 2 }) }, { requiredKeys: ['c'], noNullPrototype: true });

type Op = { op: 'insert'; doc: Doc } | { op: 'update'; at: number; t: unknown } | { op: 'delete'; at: number };
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: doc.map((d) => ({ op: 'insert' as const, doc: d })) },
    { weight: 3, arbitrary: fc.tuple(fc.nat(), value).map(([at, t]) => ({ op: 'update' as const, at, t })) },
    { weight: 1, arbitrary: fc.nat().map((at) => ({ op: 'delete' as const, at })) },
  ),
  { minLength: 1, maxLength: 60, size: 'medium' },
);
const bound = fc.oneof({ weight: 8, arbitrary: date }, { weight: 1, arbitrary: fc.constantFrom<unknown>(3, 'x', null) });
const range = fc.dictionary(fc.constantFrom('$gt', '$gte', '$lt', '$lte', '$eq'), bound, { minKeys: 1, maxKeys: 3, noNullPrototype: true });
const query = fc.record(
  {
    t: range,
    c: fc.option(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant({ $ne: 1 })), { nil: undefined }),
    sort: fc.constantFrom<Doc | undefined>(undefined, { t: 1 }, { t: -1 }, { t: 1, _id: -1 }, { c: 1 }),
    skip: fc.integer({ min: 0, max: 3 }),
    limit: fc.integer({ min: 0, max: 5 }),
  },
  { noNullPrototype: true },
);

const defined = (d: Doc): Doc => {
  for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k];
  return d;
};

const nextIds = new WeakMap<Collection, number>();

function apply(coll: Collection, list: Op[]): void {
  for (const op of list) {
    if (op.op === 'insert') {
      const _id = nextIds.get(coll) ?? 0;
      nextIds.set(coll, _id + 1);
      coll.insert(defined({ _id, ...op.doc }));
      continue;
    }
    const live = [...coll.all()];
    if (live.length === 0) continue;
    const old = coll.getById(live[op.at % live.length]!._id)!;
    if (op.op === 'delete') coll.remove(old);
    else coll.replace(old, defined({ ...old, t: op.t }));
  }
}

describe.skipIf(!!process.env.MONGODB_URI)('ranges of dates on an index’s first field (engine only)', () => {
  it('answer exactly as without ordered reads and as a collection without the index', () => {
    let rootReads = 0;
    fc.assert(
      fc.property(ops, fc.array(query, { minLength: 1, maxLength: 10 }), fc.boolean(), (list, qs, late) => {
        const catalog = new Catalog();
        const indexed = catalog.ensureCollection('db', 'indexed').coll;
        const scanned = catalog.ensureCollection('db', 'scanned').coll;
        if (!late) indexed.createIndex({ key: { t: 1 }, name: 't' });
        apply(indexed, list);
        apply(scanned, list);
        if (late) indexed.createIndex({ key: { t: 1 }, name: 't' });
        // Writes after the root group was built keep it up to date.
        const show = (docs: Doc[]) => docs.map((d) => keyString(d));
        qs.forEach((q, i) => {
          const filter: Doc = { t: q.t, ...(q.c !== undefined ? { c: q.c } : {}) };
          const shape = { filter, sort: q.sort, skip: q.skip, limit: q.limit };
          const before = plannerStats.orderedReads;
          const ordered = show(runQuery(indexed, shape));
          rootReads += plannerStats.orderedReads - before;
          orderedRanges.enabled = false;
          try {
            expect(ordered).toEqual(show(runQuery(indexed, shape)));
          } finally {
            orderedRanges.enabled = true;
          }
          expect(ordered).toEqual(show(runQuery(scanned, shape)));
          if (i === 0) {
            apply(indexed, list.slice(0, 5));
            apply(scanned, list.slice(0, 5));
          }
        });
      }),
      { numRuns: 1000 },
    );
    expect(rootReads).toBeGreaterThan(500);
  });

  it('a range of 100 among 20,000 documents examines about 100; an array of dates turns the root off for good', () => {
    const c = new Catalog().ensureCollection('db', 'ledger').coll;
    c.createIndex({ key: { at: 1 }, name: 'at_1' });
    for (let i = 0; i < 20_000; i++) c.insert({ _id: i, at: new Date(i * 1000), n: i % 7 });
    const shape = { filter: { at: { $gte: new Date(5_000_000), $lt: new Date(5_100_000) } } };
    let before = plannerStats.docsExamined;
    expect(runQuery(c, shape).map((d) => d._id)).toEqual(Array.from({ length: 100 }, (_, i) => 5000 + i));
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(110);
    before = plannerStats.docsExamined;
    expect(runQuery(c, { filter: { at: { $lt: new Date(10_000_000) } }, sort: { at: -1 }, limit: 3 }).map((d) => d._id)).toEqual([9999, 9998, 9997]);
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(10);

    c.insert({ _id: 'many', at: [new Date(5_050_500), new Date(0)] });
    before = plannerStats.docsExamined;
    expect(runQuery(c, shape).map((d) => d._id)).toEqual([...Array.from({ length: 100 }, (_, i) => 5000 + i), 'many']);
    expect(plannerStats.docsExamined - before).toBe(20_001);
  });

  it('a TTL sweep reads only the expired documents', () => {
    const catalog = new Catalog();
    const c = catalog.ensureCollection('db', 'keys').coll;
    c.createIndex({ key: { expiresAt: 1 }, name: 'expiresAt_1', expireAfterSeconds: 0 });
    const now = Date.UTC(2026, 0, 1);
    // Inserted in expiry order but for a few, as records with varying lifetimes arrive.
    for (let i = 0; i < 20_000; i++) c.insert({ _id: i, expiresAt: new Date(now - 100_000 + (i % 50 === 0 ? 5 : i * 1000)) });
    const ttl = new TtlMonitor(catalog);
    const expired = [...c.all()].filter((d) => (d.expiresAt as Date).getTime() <= now).length;
    expect(ttl.sweep(now)).toBe(expired);
    expect(ttl.lastExamined).toBe(expired);
    expect(c.size).toBe(20_000 - expired);
    expect(ttl.sweep(now)).toBe(0);
    expect(ttl.lastExamined).toBe(0);
    c.insert({ _id: 'old', expiresAt: new Date(now - 1) });
    c.insert({ _id: 'later', expiresAt: new Date(now + 1) });
    expect(ttl.sweep(now)).toBe(1);
    expect(c.getById('old')).toBeUndefined();
    expect(c.getById('later')).toBeDefined();
  });
});
