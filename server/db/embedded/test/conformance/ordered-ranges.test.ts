/**
 * Ranges on the field after a compound index's equality prefix (the ledger's shape: equalities on
 * accountId and licenseId, a range of `at`), with sorts, skip and limit, `$in` on the prefix, values
 * of several types in one prefix (a date range matches only dates), ties, and updates that move
 * documents in and out of the range: the answers MongoDB gives.
 */
import { Double, Long } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

const base = Date.UTC(2025, 0, 1);
const D = (i: number) => new Date(base + i * 1000);
const a = (i: number) => `a${String(i).padStart(2, '0')}`;
const ids = (docs: Array<{ _id: unknown }>) => docs.map((d) => d._id);

describe('ranges after an index prefix', () => {
  const h = useDatabase();
  const coll = () => h.db.collection<{ _id: string; accountId: number; licenseId: number; at?: unknown }>('ordered_ranges');

  beforeAll(async () => {
    const c = coll();
    await c.createIndex({ accountId: 1, licenseId: 1, at: 1, _id: 1 });
    await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: a(i), accountId: 1, licenseId: 1, at: D(i) })));
    await c.insertMany([
      { _id: 'm1', accountId: 1, licenseId: 2, at: D(5) },
      { _id: 'm2', accountId: 1, licenseId: 2, at: 7 },
      { _id: 'm3', accountId: 1, licenseId: 2, at: 'x' },
      { _id: 'm4', accountId: 1, licenseId: 2, at: null },
      { _id: 'm5', accountId: 1, licenseId: 2 },
      { _id: 'm6', accountId: 1, licenseId: 2, at: [D(3), D(30)] },
      { _id: 'm7', accountId: 1, licenseId: 2, at: D(12) },
      { _id: 'm8', accountId: 1, licenseId: 2, at: 8.5 },
    ]);
    await c.insertMany([
      { _id: 'n1', accountId: 1, licenseId: 3, at: 1 },
      { _id: 'n2', accountId: 1, licenseId: 3, at: 2.5 },
      { _id: 'n3', accountId: 1, licenseId: 3, at: 4 },
      { _id: 'n4', accountId: 1, licenseId: 3, at: new Double(4) },
      { _id: 'n5', accountId: 1, licenseId: 3, at: Long.fromNumber(5) },
      { _id: 'n6', accountId: 1, licenseId: 3, at: -1 },
      { _id: 'n7', accountId: 1, licenseId: 3, at: 10 },
      { _id: 'n8', accountId: 1, licenseId: 4, at: 3 },
      { _id: 'n9', accountId: 1, licenseId: 4, at: 6 },
    ]);
    await c.insertMany([
      { _id: 't1', accountId: 1, licenseId: 5, at: D(1) },
      { _id: 't4', accountId: 1, licenseId: 5, at: D(2) },
      { _id: 't2', accountId: 1, licenseId: 5, at: D(1) },
      { _id: 't0', accountId: 1, licenseId: 5, at: D(0) },
      { _id: 't3', accountId: 1, licenseId: 5, at: D(1) },
    ]);
  });

  it('a date range of one license, sorted both ways, with skip and limit', async () => {
    const c = coll();
    const range = { accountId: 1, licenseId: 1, at: { $gte: D(10), $lt: D(20) } };
    expect(ids(await c.find(range).toArray()).sort()).toEqual(Array.from({ length: 10 }, (_, i) => a(10 + i)));
    expect(ids(await c.find(range).sort({ at: -1 }).limit(3).toArray())).toEqual([a(19), a(18), a(17)]);
    expect(ids(await c.find(range).sort({ at: 1 }).skip(2).limit(3).toArray())).toEqual([a(12), a(13), a(14)]);
    expect(ids(await c.find({ accountId: 1, licenseId: 1, at: { $gt: D(10), $lte: D(12) } }).sort({ at: 1 }).toArray())).toEqual([a(11), a(12)]);
    expect(ids(await c.find({ accountId: 1, licenseId: 1, at: { $gte: D(10), $eq: D(15) } }).toArray())).toEqual([a(15)]);
    expect(ids(await c.find({ accountId: 1, licenseId: 1, at: { $lt: D(3) } }).sort({ at: -1, _id: 1 }).toArray())).toEqual([a(2), a(1), a(0)]);
    expect(await c.countDocuments({ accountId: 1, licenseId: 1, at: { $gt: D(45) } })).toBe(4);
    expect(ids(await c.find({ accountId: 1, licenseId: 1 }).sort({ at: -1 }).limit(2).toArray())).toEqual([a(49), a(48)]);
  });

  it('a date range matches only dates (also in an array), a number range only numbers', async () => {
    const c = coll();
    const dates = { accountId: 1, licenseId: 2, at: { $gte: D(0), $lt: D(40) } };
    expect(ids(await c.find(dates).toArray()).sort()).toEqual(['m1', 'm6', 'm7']);
    // An array sorts by its smallest element ascending, by its largest descending.
    expect(ids(await c.find(dates).sort({ at: 1 }).toArray())).toEqual(['m6', 'm1', 'm7']);
    expect(ids(await c.find(dates).sort({ at: -1 }).toArray())).toEqual(['m6', 'm7', 'm1']);
    expect(ids(await c.find({ accountId: 1, licenseId: 2, at: { $gte: 0 } }).sort({ at: 1 }).toArray())).toEqual(['m2', 'm8']);
    // Int32, Double and Int64 compare as numbers.
    expect(ids(await c.find({ accountId: 1, licenseId: 3, at: { $gt: 2, $lte: 5 } }).sort({ at: 1, _id: 1 }).toArray())).toEqual(['n2', 'n3', 'n4', 'n5']);
    expect(ids(await c.find({ accountId: 1, licenseId: 3, at: { $gte: D(0) } }).toArray())).toEqual([]);
    expect(ids(await c.find({ accountId: 1, licenseId: 4, at: { $gt: 2.5 } }).sort({ at: -1 }).limit(1).toArray())).toEqual(['n9']);
    expect(ids(await c.find({ accountId: 1, licenseId: 4, at: { $gt: D(0) } }).toArray())).toEqual([]);
  });

  it('$in on the license, with a range and a sort', async () => {
    const c = coll();
    expect(ids(await c.find({ accountId: 1, licenseId: { $in: [1, 3] }, at: { $gte: D(48) } }).sort({ at: 1 }).toArray())).toEqual([a(48), a(49)]);
    expect(ids(await c.find({ accountId: 1, licenseId: { $in: [3, 4] }, at: { $gte: 3, $lt: 7 } }).sort({ at: 1, _id: 1 }).toArray())).toEqual(['n8', 'n3', 'n4', 'n5', 'n9']);
    expect(ids(await c.find({ accountId: 1, licenseId: { $in: [4, 3] }, at: { $gte: 3 } }).sort({ at: -1, _id: 1 }).limit(2).toArray())).toEqual(['n7', 'n9']);
    expect(ids(await c.find({ accountId: 1, licenseId: { $in: [2, 5] }, at: { $lt: D(2) } }).sort({ at: 1, _id: 1 }).limit(4).toArray())).toEqual(['t0', 't1', 't2', 't3']);
  });

  it('ties on the sorted field and the ledger page form', async () => {
    const c = coll();
    const ties = { accountId: 1, licenseId: 5, at: { $gte: D(0) } };
    expect(ids(await c.find(ties).sort({ at: 1, _id: -1 }).limit(3).toArray())).toEqual(['t0', 't3', 't2']);
    expect(ids(await c.find({ ...ties, at: { $gte: D(1) } }).sort({ at: 1, _id: 1 }).limit(2).toArray())).toEqual(['t1', 't2']);
    expect(ids(await c.find(ties).sort({ at: -1, _id: 1 }).limit(3).toArray())).toEqual(['t4', 't1', 't2']);
    const page = { accountId: 1, licenseId: 5, at: { $gte: D(1), $lt: D(10) }, $or: [{ at: { $gt: D(1) } }, { at: D(1), _id: { $gt: 't1' } }] };
    expect(ids(await c.find(page).sort({ at: 1, _id: 1 }).limit(2).toArray())).toEqual(['t2', 't3']);
    expect(ids(await c.find(page).sort({ at: 1, _id: 1 }).skip(2).limit(2).toArray())).toEqual(['t4']);
  });

  it('updates and deletes move documents in and out of the range', async () => {
    const c = coll();
    await c.updateOne({ _id: a(15) }, { $set: { at: D(100) } });
    await c.updateOne({ _id: a(30) }, { $set: { at: D(11) } });
    await c.deleteOne({ _id: a(12) });
    const range = { accountId: 1, licenseId: 1, at: { $gte: D(10), $lt: D(20) } };
    const expected = [a(10), a(11), a(13), a(14), a(16), a(17), a(18), a(19), a(30)];
    expect(ids(await c.find(range).toArray()).sort()).toEqual(expected);
    expect(ids(await c.find(range).sort({ at: 1, _id: 1 }).limit(4).toArray())).toEqual([a(10), a(11), a(30), a(13)]);
    // A value of another type in the license: the same answers.
    await c.updateOne({ _id: a(31) }, { $set: { at: 'text' } });
    expect(ids(await c.find(range).toArray()).sort()).toEqual(expected);
    expect(ids(await c.find(range).sort({ at: -1 }).limit(2).toArray())).toEqual([a(19), a(18)]);
    const counts = await c
      .aggregate([{ $match: { accountId: 1, licenseId: { $in: [1, 2, 3] }, at: { $gte: D(0), $lt: D(40) } } }, { $group: { _id: '$licenseId', n: { $sum: 1 } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(counts).toEqual([
      { _id: 1, n: 37 },
      { _id: 2, n: 3 },
    ]);
  });
});
