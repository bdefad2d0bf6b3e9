/**
 * ENGINE-ONLY (uses engine internals; skipped when MONGODB_URI is set): ranges on the field after an
 * index's equality prefix, read in key order (storage/indexes.ts `orderedRange`, query/planner.ts
 * `readOrdered`).
 *
 * - A property test: random documents (dates, numbers, Doubles, Longs, NaN, strings, null, missing,
 *   arrays, multikey prefixes), inserts, updates and deletes, then random queries (equalities and
 *   `$in` on the prefix, the four range operators and `$eq`, sorts both ways with skip and limit):
 *   the answers with ordered ranges equal those without, and those of a collection scan.
 * - The cost: a range of 100 among 20,000 documents of one prefix, and a sorted page of 100,
 *   examine about 100 documents.
 */
import { Double, Long } from 'bson';
import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuery } from '../commands/read.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../index.js';
import { orderedRanges, plannerStats } from '../query/planner.js';
import { Catalog } from '../storage/catalog.js';
import type { Collection } from '../storage/collection.js';
import { keyString, type Doc } from '../values.js';

const date = fc.integer({ min: 0, max: 8 }).map((n) => new Date(n * 1000));
const number = fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constantFrom(0.5, -0, Infinity, -Infinity));
/** Values that turn a group unordered (or are of no kind at all). */
const odd = fc.constantFrom<unknown>(undefined, null, 'x', Number.NaN, new Double(2), Long.fromNumber(3), [new Date(2000), new Date(5000)], [], [1, 3], { d: 1 }, true);
const kindOf = fc.constantFrom('dates', 'numbers', 'mixed');

function valueOf(kind: string): fc.Arbitrary<unknown> {
  const main = kind === 'dates' ? date : kind === 'numbers' ? number : fc.oneof(date, number);
  return fc.oneof({ weight: 80, arbitrary: main }, { weight: 1, arbitrary: odd });
}

const prefixValue = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('x', 'y') }, { weight: 1, arbitrary: fc.constant(['x', 'y']) });

function docOf(kind: string): fc.Arbitrary<Doc> {
  return fc.record({ a: prefixValue, b: fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: odd }), t: valueOf(kind), c: fc.integer({ min: 0, max: 2 }) }, { requiredKeys: ['a', 'c'], noNullPrototype: true });
}

type Op = { op: 'insert'; doc: Doc } | { op: 'update'; at: number; set: Doc } | { op: 'delete'; at: number };

function opsOf(kind: string): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: docOf(kind).map((doc) => ({ op: 'insert' as const, doc })) },
    { weight: 4, arbitrary: fc.tuple(fc.nat(), fc.record({ t: valueOf(kind) }, { noNullPrototype: true })).map(([at, set]) => ({ op: 'update' as const, at, set })) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.record({ b: fc.integer({ min: 1, max: 3 }) }, { noNullPrototype: true })).map(([at, set]) => ({ op: 'update' as const, at, set })) },
    { weight: 1, arbitrary: fc.nat().map((at) => ({ op: 'delete' as const, at })) },
  );
  return fc.array(op, { minLength: 1, maxLength: 60, size: 'medium' });
}

const bound = fc.oneof({ weight: 5, arbitrary: date }, { weight: 5, arbitrary: number }, { weight: 1, arbitrary: fc.constantFrom<unknown>('x', null, new Double(1), Long.fromNumber(2), Number.NaN) });
const range = fc
  .dictionary(fc.constantFrom('$gt', '$gte', '$lt', '$lte', '$eq'), bound, { minKeys: 0, maxKeys: 3, noNullPrototype: true })
  .chain((r) => fc.oneof(fc.constant(r), fc.constant({ ...r, $ne: 1 })));
/** A range of the prefix's second field (integers 1 to 3): mostly not empty. */
const smallRange = fc.dictionary(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), fc.integer({ min: 0, max: 4 }), { minKeys: 1, maxKeys: 2, noNullPrototype: true });

const query = fc.record(
  {
    a: fc.oneof(fc.constantFrom<unknown>('x', 'y'), fc.constant({ $in: ['x', 'y'] })),
    b: fc.option(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.constantFrom({ $in: [1, 3] }, { $in: [2, 1] }) }, { weight: 1, arbitrary: range }, { weight: 2, arbitrary: smallRange }), { nil: undefined }),
    t: fc.option(range, { nil: undefined }),
    c: fc.option(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant({ $ne: 1 })), { nil: undefined }),
    sort: fc.constantFrom<Doc | undefined>(undefined, { t: 1 }, { t: -1 }, { t: 1, _id: -1 }, { t: -1, c: 1 }, { b: 1 }, { b: -1, t: 1 }, { c: 1 }),
    skip: fc.integer({ min: 0, max: 3 }),
    limit: fc.integer({ min: 0, max: 5 }),
  },
  { noNullPrototype: true },
);

/** The document without its undefined fields (missing ones). */
function defined(doc: Doc): Doc {
  for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
  return doc;
}

function apply(coll: Collection, ops: Op[], ids: number[]): void {
  for (const op of ops) {
    if (op.op === 'insert') {
      const _id = ids.length;
      ids.push(_id);
      coll.insert(defined({ _id, ...op.doc }));
      continue;
    }
    const live = [...coll.all()];
    if (live.length === 0) continue;
    const old = coll.getById(live[op.at % live.length]!._id)!;
    if (op.op === 'delete') {
      coll.remove(old);
    } else {
      coll.replace(old, defined({ ...old, ...op.set }));
    }
  }
}

describe.skipIf(!!process.env.MONGODB_URI)('ordered ranges (engine only)', () => {
  it('answer exactly as the whole prefix and a collection scan do', () => {
    let orderedUsed = 0;
    let queries = 0;
    fc.assert(
      fc.property(
        kindOf.chain((kind) => fc.tuple(opsOf(kind), fc.array(query, { minLength: 1, maxLength: 12, size: 'medium' }))),
        ([ops, qs]) => {
          const catalog = new Catalog();
          const indexed = catalog.ensureCollection('db', 'indexed').coll;
          indexed.createIndex({ key: { a: 1, b: 1, t: 1, _id: 1 }, name: 'abt' });
          const scanned = catalog.ensureCollection('db', 'scanned').coll;
          // Half of the runs build the index over existing documents.
          const late = ops.length % 2 === 0;
          const laterIndexed = catalog.ensureCollection('db', 'late').coll;
          apply(indexed, ops, []);
          apply(scanned, ops, []);
          apply(laterIndexed, ops, []);
          if (late) laterIndexed.createIndex({ key: { a: 1, b: 1, t: 1, _id: 1 }, name: 'abt' });
          for (const q of qs) {
            queries++;
            const filter: Doc = { a: q.a };
            for (const k of ['b', 't', 'c'] as const) if (q[k] !== undefined) filter[k] = q[k];
            const shape = { filter, sort: q.sort, skip: q.skip, limit: q.limit };
            const show = (docs: Doc[]) => docs.map((d) => keyString(d));
            const before = plannerStats.orderedReads;
            const ordered = show(runQuery(indexed, shape));
            orderedUsed += plannerStats.orderedReads - before;
            orderedRanges.enabled = false;
            let plain: string[];
            try {
              plain = show(runQuery(indexed, shape));
            } finally {
              orderedRanges.enabled = true;
            }
            expect(ordered).toEqual(plain);
            expect(ordered).toEqual(show(runQuery(scanned, shape)));
            expect(show(runQuery(laterIndexed, shape))).toEqual(ordered);
          }
        },
      ),
      { numRuns: 1000 },
    );
    // The generator reaches the ordered path often (a floor well below what every seed gives).
    console.log(`ordered reads: ${orderedUsed} of ${queries} queries`);
    expect(orderedUsed).toBeGreaterThan(200);
  });
});

describe.skipIf(!!process.env.MONGODB_URI)('ordered ranges: groups after writes (engine only)', () => {
  it('an update of the ordered field moves the document within its group, a delete takes it out', () => {
    const catalog = new Catalog();
    const c = catalog.ensureCollection('db', 'c').coll;
    c.createIndex({ key: { a: 1, t: 1 }, name: 'at' });
    for (let i = 0; i < 5; i++) c.insert({ _id: i, a: 'x', t: i });
    const late = { filter: { a: 'x', t: { $gt: 8 } } };
    const before = plannerStats.orderedReads;
    c.replace(c.getById(0)!, { _id: 0, a: 'x', t: 10 });
    expect(runQuery(c, late).map((d) => d._id)).toEqual([0]);
    expect(runQuery(c, { filter: { a: 'x', t: { $gte: 3 } }, sort: { t: -1 }, limit: 2 }).map((d) => d._id)).toEqual([0, 4]);
    c.replace(c.getById(4)!, { _id: 4, a: 'x', t: 9 });
    c.remove(c.getById(0)!);
    expect(runQuery(c, late).map((d) => d._id)).toEqual([4]);
    expect(runQuery(c, { filter: { a: 'x', t: { $lt: 3 } }, sort: { t: 1 }, limit: 5 }).map((d) => d._id)).toEqual([1, 2]);
    expect(plannerStats.orderedReads - before).toBe(4);
  });

  it('a group whose keys arrive far out of order turns unordered, and answers stay those of a scan', () => {
    const catalog = new Catalog();
    const indexed = catalog.ensureCollection('db', 'indexed').coll;
    indexed.createIndex({ key: { a: 1, t: 1 }, name: 'at' });
    const scanned = catalog.ensureCollection('db', 'scanned').coll;
    // Keys in descending order: each insert lands before all the others.
    for (let i = 0; i < 6000; i++) {
      for (const c of [indexed, scanned]) c.insert({ _id: i, a: 'x', t: new Date((6000 - i) * 1000) });
    }
    const shape = { filter: { a: 'x', t: { $gte: new Date(100_000), $lt: new Date(200_000) } }, sort: { t: 1 }, limit: 10 };
    const before = plannerStats.orderedReads;
    const docs = runQuery(indexed, shape);
    expect(plannerStats.orderedReads).toBe(before);
    expect(docs.map((d) => d._id)).toEqual(runQuery(scanned, shape).map((d) => d._id));
    expect(docs.map((d) => d._id)).toEqual([5900, 5899, 5898, 5897, 5896, 5895, 5894, 5893, 5892, 5891]);
  });
});

describe.skipIf(!!process.env.MONGODB_URI)('ordered ranges: cost (engine only)', () => {
  let engine: EmbeddedMongo;
  let client: MongoClient;
  const start = Date.UTC(2025, 0, 1);

  beforeAll(async () => {
    engine = await startEmbeddedMongo();
    client = new MongoClient(engine.uri);
    await client.connect();
    const c = client.db('ordered').collection<{ _id: string }>('ledger');
    await c.createIndex({ accountId: 1, licenseId: 1, at: 1, _id: 1 });
    for (let batch = 0; batch < 20; batch++) {
      await c.insertMany(
        Array.from({ length: 1000 }, (_, i) => {
          const n = batch * 1000 + i;
          return { _id: `e${String(n).padStart(6, '0')}`, accountId: 1, licenseId: 7, at: new Date(start + n * 1000), scope: 'license', amount: 1 };
        }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await engine?.stop();
  });

  it('a range of 100 among 20,000 documents of one prefix examines about 100 of them', async () => {
    const c = client.db('ordered').collection<{ _id: string }>('ledger');
    const before = plannerStats.docsExamined;
    const docs = await c.find({ accountId: 1, licenseId: 7, at: { $gte: new Date(start + 5000_000), $lt: new Date(start + 5100_000) }, scope: 'license' }).toArray();
    expect(docs).toHaveLength(100);
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(110);
    const sums = await c.aggregate([{ $match: { accountId: 1, licenseId: { $in: [7, 8] }, at: { $gte: new Date(start + 5000_000), $lt: new Date(start + 5100_000) } } }, { $group: { _id: '$licenseId', n: { $sum: 1 } } }]).toArray();
    expect(sums).toEqual([{ _id: 7, n: 100 }]);
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(220);
  });

  it('a sorted page of 100 examines about 100 documents, also after a position', async () => {
    const c = client.db('ordered').collection<{ _id: string }>('ledger');
    let before = plannerStats.docsExamined;
    const first = await c.find({ accountId: 1, licenseId: 7, at: { $gte: new Date(start) } }).sort({ at: 1, _id: 1 }).limit(100).toArray();
    expect(first.map((d) => d._id)).toEqual(Array.from({ length: 100 }, (_, i) => `e${String(i).padStart(6, '0')}`));
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(110);

    before = plannerStats.docsExamined;
    const after = new Date(start + 12_345_000);
    const page = await c
      .find({ accountId: 1, licenseId: 7, at: { $gte: after }, $or: [{ at: { $gt: after } }, { at: after, _id: { $gt: 'e012345' } }] })
      .sort({ at: 1, _id: 1 })
      .limit(100)
      .toArray();
    expect(page.map((d) => d._id)).toEqual(Array.from({ length: 100 }, (_, i) => `e${String(12_346 + i).padStart(6, '0')}`));
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(110);

    before = plannerStats.docsExamined;
    const last = await c.find({ accountId: 1, licenseId: 7 }).sort({ at: -1 }).skip(10).limit(90).toArray();
    expect(last.map((d) => d._id)).toEqual(Array.from({ length: 90 }, (_, i) => `e${String(19_989 - i).padStart(6, '0')}`));
    expect(plannerStats.docsExamined - before).toBeLessThanOrEqual(110);
  });
});
