/**
 * Limits, skips and batch sizes through find / getMore, count, findOne, aggregate,
 * findOneAndUpdate / findOneAndDelete and distinct, as MongoDB 7.0 answers them. The driver
 * enforces a find cursor's limit itself too, so the server's side is also checked with raw commands.
 */
import { Long, MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

type Six = { _id: number; x: number };
const ids = (docs: Document[]) => docs.map((d) => d._id as number);
const cursorId = (reply: Document) => Long.fromValue(reply.cursor.id as Long | number);

/** Collection `six`: `{ _id: 1..6, x: 11..66 }`. */
async function seedSix(db: Db): Promise<Collection<Six>> {
  const c = db.collection<Six>('six');
  await c.insertMany([1, 2, 3, 4, 5, 6].map((i) => ({ _id: i, x: i * 11 })));
  return c;
}

describe('find limits, skips and batch sizes', () => {
  const h = useDatabase();
  let c: Collection<Six>;
  beforeAll(async () => (c = await seedSix(h.db)));

  it('sort + skip + limit, with and without batchSize', async () => {
    expect(ids(await c.find({ _id: { $gt: 2 } }).sort({ _id: 1 }).skip(2).limit(2).toArray())).toEqual([5, 6]);
    expect(ids(await c.find({ _id: { $gt: 2 } }, { sort: { x: -1 }, skip: 1, limit: 2 }).toArray())).toEqual([5, 4]);
    expect(ids(await c.find({}).sort({ _id: 1 }).limit(4).batchSize(2).toArray())).toEqual([1, 2, 3, 4]);
    expect(ids(await c.find({}).sort({ _id: 1 }).limit(2).batchSize(2).toArray())).toEqual([1, 2]);
    expect(ids(await c.find({}).sort({ _id: 1 }).skip(1).limit(3).batchSize(1).toArray())).toEqual([2, 3, 4]);
    expect(ids(await c.find({}).sort({ _id: 1 }).skip(10).toArray())).toEqual([]);
  });

  it('getMore returns what remains of the limit, after the skip', async () => {
    const first = await h.db.command({ find: 'six', filter: { _id: { $gt: 2 } }, sort: { _id: 1 }, skip: 2, limit: 2, batchSize: 1 });
    expect(ids(first.cursor.firstBatch)).toEqual([5]);
    const more = await h.db.command({ getMore: cursorId(first), collection: 'six', batchSize: 10 });
    expect(ids(more.cursor.nextBatch)).toEqual([6]);
    expect(cursorId(more).isZero()).toBe(true);

    const a = await h.db.command({ find: 'six', filter: {}, sort: { _id: 1 }, limit: 4, batchSize: 2 });
    expect(ids(a.cursor.firstBatch)).toEqual([1, 2]);
    expect(cursorId(a).isZero()).toBe(false);
    const b = await h.db.command({ getMore: cursorId(a), collection: 'six' });
    expect(ids(b.cursor.nextBatch)).toEqual([3, 4]);
    expect(cursorId(b).isZero()).toBe(true);
  });

  it('singleBatch (a negative limit in the driver) returns one batch of batchSize and closes the cursor', async () => {
    const raw = await h.db.command({ find: 'six', filter: {}, sort: { _id: 1 }, limit: 5, batchSize: 2, singleBatch: true });
    expect(ids(raw.cursor.firstBatch)).toEqual([1, 2]);
    expect(cursorId(raw).isZero()).toBe(true);
    expect(ids(await c.find({}).sort({ _id: 1 }).limit(-5).batchSize(2).toArray())).toEqual([1, 2]);
    expect(ids(await c.find({}).sort({ _id: 1 }).limit(-3).toArray())).toEqual([1, 2, 3]);
  });

  it('a negative limit, skip or batchSize in the command is refused (51024)', async () => {
    for (const [field, cmd] of [
      ['limit', { find: 'six', limit: -1 }],
      ['skip', { find: 'six', skip: -1 }],
      ['batchSize', { find: 'six', batchSize: -1 }],
    ] as const) {
      const err = (await h.db.command(cmd).catch((e: unknown) => e)) as MongoServerError;
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err.code).toBe(51024);
      expect(err.message).toBe(`BSON field '${field}' value must be >= 0, actual value '-1'`);
    }
    const open = await h.db.command({ find: 'six', batchSize: 1 });
    const err = (await h.db.command({ getMore: cursorId(open), collection: 'six', batchSize: -1 }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(51024);
    await h.db.command({ killCursors: 'six', cursors: [cursorId(open)] });
  });

  it('findOne with filter, sort and skip', async () => {
    expect(await c.findOne({ _id: { $gt: 2 } }, { sort: { _id: -1 }, skip: 1 })).toEqual({ _id: 5, x: 55 });
    expect(await c.findOne({}, { sort: { x: 1 }, skip: 2 })).toEqual({ _id: 3, x: 33 });
    expect(await c.findOne({ _id: { $gt: 2 } }, { sort: { _id: 1 }, skip: 9 })).toBeNull();
  });

  it('countDocuments and count honour skip and limit; estimatedDocumentCount counts all', async () => {
    expect(await c.countDocuments({ _id: { $gt: 2 } }, { skip: 1, limit: 2 })).toBe(2);
    expect(await c.countDocuments({ _id: { $gt: 2 } }, { skip: 3, limit: 5 })).toBe(1);
    expect(await c.countDocuments({}, { skip: 1, limit: 3 })).toBe(3);
    expect(await c.countDocuments({}, { skip: 7 })).toBe(0);
    expect(await c.count({ _id: { $gt: 2 } }, { skip: 1, limit: 2 })).toBe(2);
    expect(await c.count({}, { skip: 4, limit: 3 })).toBe(2);
    expect(await c.count({}, { skip: 1 })).toBe(5);
    expect(await c.estimatedDocumentCount()).toBe(6);
    expect(await h.db.collection('absent').estimatedDocumentCount()).toBe(0);
  });

  it('distinct with a filter', async () => {
    const t = h.db.collection('tagged');
    await t.insertMany([
      { k: 1, tags: ['a', 'b'], g: 'x' },
      { k: 2, tags: ['b', 'c'], g: 'y' },
      { k: 3, tags: 'd', g: 'x' },
    ]);
    expect((await t.distinct('tags', { g: 'x' })).sort()).toEqual(['a', 'b', 'd']);
    expect((await t.distinct('tags', { k: { $gte: 2 } })).sort()).toEqual(['b', 'c', 'd']);
    expect(await t.distinct('g', { k: { $gt: 5 } })).toEqual([]);
    expect(await c.distinct('x', { _id: { $lt: 3 } })).toEqual([11, 22]);
  });
});

describe('aggregate limits, skips and batch sizes', () => {
  const h = useDatabase();
  let c: Collection<Six>;
  beforeAll(async () => (c = await seedSix(h.db)));

  it('$sort + $skip + $limit, through small batches', async () => {
    const pipeline = [{ $match: { _id: { $gt: 1 } } }, { $sort: { _id: -1 } }, { $skip: 1 }, { $limit: 3 }];
    expect(ids(await c.aggregate(pipeline, { batchSize: 1 }).toArray())).toEqual([5, 4, 3]);
    expect(ids(await c.aggregate([{ $sort: { x: -1 } }, { $limit: 2 }]).toArray())).toEqual([6, 5]);
    expect(ids(await c.aggregate([{ $sort: { _id: 1 } }, { $limit: 4 }, { $skip: 1 }], { batchSize: 2 }).toArray())).toEqual([2, 3, 4]);
    expect(ids(await c.aggregate([{ $skip: 10 }]).toArray())).toEqual([]);

    const first = await h.db.command({ aggregate: 'six', pipeline, cursor: { batchSize: 1 } });
    expect(ids(first.cursor.firstBatch)).toEqual([5]);
    const next = await h.db.command({ getMore: cursorId(first), collection: 'six', batchSize: 1 });
    expect(ids(next.cursor.nextBatch)).toEqual([4]);
    const rest = await h.db.command({ getMore: cursorId(first), collection: 'six' });
    expect(ids(rest.cursor.nextBatch)).toEqual([3]);
    expect(cursorId(rest).isZero()).toBe(true);
  });

  it('$limit must be positive and $skip non-negative (countDocuments with limit 0 sends $limit: 0)', async () => {
    const refused = async (pipeline: Document[]) => (await c.aggregate(pipeline).toArray().catch((e: unknown) => e)) as MongoServerError;
    const zero = await refused([{ $limit: 0 }]);
    expect(zero).toBeInstanceOf(MongoServerError);
    expect(zero.code).toBe(15958);
    expect(zero.message).toBe('the limit must be positive');
    const counted = (await c.countDocuments({}, { limit: 0 }).catch((e: unknown) => e)) as MongoServerError;
    expect(counted.code).toBe(15958);
    expect(await refused([{ $limit: -1 }])).toBeInstanceOf(MongoServerError);
    expect(await refused([{ $skip: -1 }])).toBeInstanceOf(MongoServerError);
    expect(ids(await c.aggregate([{ $sort: { _id: 1 } }, { $skip: 0 }, { $limit: 1 }]).toArray())).toEqual([1]);
  });

  it('a negative cursor batchSize is refused (51024)', async () => {
    const err = (await h.db.command({ aggregate: 'six', pipeline: [], cursor: { batchSize: -1 } }).catch((e: unknown) => e)) as MongoServerError;
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(51024);
  });

  it('getMore must name the namespace the cursor belongs to (13)', async () => {
    const first = await h.db.command({ aggregate: 'six', pipeline: [{ $sort: { _id: 1 } }], cursor: { batchSize: 1 } });
    const err = (await h.db.command({ getMore: cursorId(first), collection: 'other' }).catch((e: unknown) => e)) as MongoServerError;
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(13);
    expect(err.message).toBe(`Requested getMore on namespace '${h.db.databaseName}.other', but cursor belongs to a different namespace ${h.db.databaseName}.six`);
    await h.db.command({ killCursors: 'six', cursors: [cursorId(first)] });
  });

  it('batchSize 0 returns an empty first batch and an open cursor', async () => {
    const first = await h.db.command({ aggregate: 'six', pipeline: [{ $sort: { _id: 1 } }, { $limit: 3 }], cursor: { batchSize: 0 } });
    expect(first.cursor.firstBatch).toEqual([]);
    expect(cursorId(first).isZero()).toBe(false);
    const rest = await h.db.command({ getMore: cursorId(first), collection: 'six' });
    expect(ids(rest.cursor.nextBatch)).toEqual([1, 2, 3]);
  });
});

describe('findOneAndUpdate / findOneAndDelete with sort', () => {
  const h = useDatabase();

  it('modify the first document in sort order', async () => {
    const c = h.db.collection<Six & { y?: number }>('fam');
    await c.insertMany([1, 2, 3, 4].map((i) => ({ _id: i, x: (5 - i) * 10 })));
    const updated = await c.findOneAndUpdate({ _id: { $gt: 1 } }, { $set: { y: 1 } }, { sort: { _id: -1 }, returnDocument: 'after' });
    expect(updated).toEqual({ _id: 4, x: 10, y: 1 });
    const before = await c.findOneAndUpdate({}, { $inc: { x: 1 } }, { sort: { x: -1 } });
    expect(before).toEqual({ _id: 1, x: 40 });
    const replaced = await c.findOneAndReplace({ _id: { $lt: 4 } }, { x: 0 }, { sort: { x: 1 }, returnDocument: 'after' });
    expect(replaced).toEqual({ _id: 3, x: 0 });
    const removed = await c.findOneAndDelete({ _id: { $gt: 1 } }, { sort: { x: -1 } });
    expect(removed).toEqual({ _id: 2, x: 30 });
    expect(ids(await c.find().sort({ _id: 1 }).toArray())).toEqual([1, 3, 4]);
  });
});
