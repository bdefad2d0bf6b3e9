/**
 * Unknown top-level fields of strict commands (MongoDB 7.0: every command whose IDL is `strict`
 * fails with 40415 before it runs), and the options the driver sends for the operations the app
 * uses, all accepted.
 */
import { MongoServerError, type Document } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as MongoServerError);

describe('unknown fields of strict commands', () => {
  const h = useDatabase();
  const docs = () => h.db.collection<{ _id: number; n: number }>('fields');
  beforeEach(async () => {
    await docs().deleteMany({});
    await docs().insertMany([1, 2, 3].map((i) => ({ _id: i, n: i })));
  });

  async function expectUnknown(command: Document, field: string): Promise<void> {
    const err = await failure(h.db.command(command));
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err!.code).toBe(40415);
    expect(err!.message).toBe(`BSON field '${field}' is an unknown field.`);
  }

  it('find, count, distinct and aggregate refuse a field they do not have', async () => {
    await expectUnknown({ find: 'fields', filter: {}, foo: 1 }, 'find.foo');
    await expectUnknown({ count: 'fields', query: {}, batchSize: 2 }, 'count.batchSize');
    await expectUnknown({ distinct: 'fields', key: 'n', sort: { n: 1 } }, 'distinct.sort');
    // batchSize belongs inside `cursor`.
    await expectUnknown({ aggregate: 'fields', pipeline: [], cursor: {}, batchSize: 1 }, 'aggregate.batchSize');
  });

  it('findAndModify with skip is refused and changes nothing', async () => {
    await expectUnknown({ findAndModify: 'fields', query: {}, sort: { _id: 1 }, skip: 1, update: { $set: { n: 0 } } }, 'findAndModify.skip');
    expect(await docs().find({}).sort({ _id: 1 }).toArray()).toEqual([1, 2, 3].map((i) => ({ _id: i, n: i })));
  });

  it('insert, update and delete with an unknown top-level field change nothing', async () => {
    await expectUnknown({ insert: 'fields', documents: [{ _id: 9, n: 9 }], upsert: true }, 'insert.upsert');
    await expectUnknown({ update: 'fields', updates: [{ q: {}, u: { $set: { n: 0 } }, multi: true }], multi: true }, 'update.multi');
    await expectUnknown({ delete: 'fields', deletes: [{ q: {}, limit: 0 }], justOne: true }, 'delete.justOne');
    expect(await docs().find({}).sort({ _id: 1 }).toArray()).toEqual([1, 2, 3].map((i) => ({ _id: i, n: i })));
  });

  it('getMore refuses a field it does not have', async () => {
    const first = await h.db.command({ find: 'fields', filter: {}, batchSize: 1 });
    await expectUnknown({ getMore: first.cursor.id, collection: 'fields', skip: 1 }, 'getMore.skip');
  });

  it('the options the driver sends for the app’s operations are all accepted', async () => {
    const c = docs();
    const common = { comment: 'why', maxTimeMS: 5000 };
    expect(await c.find({ n: { $gt: 1 } }, { ...common, sort: { n: 1 }, skip: 1, limit: 5, batchSize: 1, projection: { n: 1 }, hint: { _id: 1 }, allowDiskUse: true }).toArray()).toEqual([{ _id: 3, n: 3 }]);
    expect(await c.aggregate([{ $match: { n: { $gte: 0 } } }, { $count: 'k' }], { ...common, allowDiskUse: true, batchSize: 10 }).toArray()).toEqual([{ k: 3 }]);
    expect(await c.countDocuments({ n: { $gt: 0 } }, { ...common, skip: 1, limit: 1 })).toBe(1);
    expect(await c.estimatedDocumentCount(common)).toBe(3);
    expect(await c.distinct('n', { n: { $lt: 3 } }, common)).toEqual([1, 2]);
    expect(await c.findOneAndUpdate({ n: { $gte: 2 } }, { $inc: { n: 10 } }, { ...common, sort: { n: -1 }, projection: { n: 1 }, returnDocument: 'after', upsert: false, hint: { _id: 1 }, let: { x: 1 } })).toEqual({ _id: 3, n: 13 });
    expect(await c.findOneAndDelete({ _id: 1 }, { ...common, sort: { _id: 1 } })).toEqual({ _id: 1, n: 1 });
    expect((await c.updateOne({ _id: 2 }, { $set: { n: 20 } }, { ...common, upsert: true, hint: { _id: 1 }, let: { x: 1 } })).modifiedCount).toBe(1);
    expect((await c.updateMany({}, { $inc: { n: 1 } }, { ...common, bypassDocumentValidation: true })).modifiedCount).toBe(2);
    expect((await c.insertMany([{ _id: 5, n: 5 }], { ...common, ordered: false, bypassDocumentValidation: true })).insertedCount).toBe(1);
    expect((await c.bulkWrite([{ deleteOne: { filter: { _id: 5 } } }], { ...common, ordered: true })).deletedCount).toBe(1);
    expect((await c.deleteMany({ n: { $gt: 100 } }, { ...common, hint: { _id: 1 }, let: { x: 1 } })).deletedCount).toBe(0);
  });

  it('$count over no documents outputs no document (also inside $facet)', async () => {
    const c = docs();
    expect(await c.aggregate([{ $match: { n: { $gt: 100 } } }, { $count: 'k' }]).toArray()).toEqual([]);
    expect(await c.aggregate([{ $facet: { none: [{ $match: { n: 0 } }, { $count: 'k' }], all: [{ $count: 'k' }] } }]).toArray()).toEqual([{ none: [], all: [{ k: 3 }] }]);
    expect(await c.countDocuments({ n: { $gt: 100 } })).toBe(0);
  });
});
