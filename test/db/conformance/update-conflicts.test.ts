/**
 * Update semantics around immutable `_id` and conflicting update paths, written against the public
 * driver API only so they hold for a real mongod as well as for the embedded engine.
 */
import { MongoServerError, ObjectId, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

async function serverError(p: Promise<unknown>): Promise<MongoServerError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MongoServerError);
  return e as MongoServerError;
}

describe('$setOnInsert and _id on an existing document', () => {
  const h = useDatabase();

  it('ignores $setOnInsert (including _id) when an upsert matches', async () => {
    const c = h.db.collection<Document>('soi_match');
    const filter = { licenseId: 'L1', hardwareId: 'hw-1' };
    const created = await c.findOneAndUpdate(
      filter,
      { $setOnInsert: { _id: 123 as never, activatedAt: 1 }, $set: { lastSeen: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(created).toEqual({ _id: 123, licenseId: 'L1', hardwareId: 'hw-1', activatedAt: 1, lastSeen: 1 });

    const again = await c.findOneAndUpdate(
      filter,
      { $setOnInsert: { _id: 456 as never, activatedAt: 2 }, $set: { lastSeen: 2 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(again).toEqual({ _id: 123, licenseId: 'L1', hardwareId: 'hw-1', activatedAt: 1, lastSeen: 2 });

    const onlyOnInsert = await c.updateOne(filter, { $setOnInsert: { _id: 789 as never, activatedAt: 3 } }, { upsert: true });
    expect(onlyOnInsert).toMatchObject({ matchedCount: 1, modifiedCount: 0, upsertedCount: 0 });
    expect(await c.find({}).toArray()).toEqual([{ _id: 123, licenseId: 'L1', hardwareId: 'hw-1', activatedAt: 1, lastSeen: 2 }]);
  });

  it('ignores a $setOnInsert ObjectId _id on a match', async () => {
    const c = h.db.collection<Document>('soi_oid');
    const { insertedId } = await c.insertOne({ key: 'k', n: 0 });
    const res = await c.updateOne({ key: 'k' }, { $setOnInsert: { _id: new ObjectId() }, $inc: { n: 1 } }, { upsert: true });
    expect(res).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect(await c.find({}).toArray()).toEqual([{ _id: insertedId, key: 'k', n: 1 }]);
  });

  it('accepts $set / $setOnInsert of _id to its current value on a match', async () => {
    const c = h.db.collection<Document>('id_same');
    await c.insertOne({ _id: 1 as never, v: 0 });
    const noop = await c.updateOne({ _id: 1 as never }, { $set: { _id: 1 } });
    expect(noop).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    const withOther = await c.updateOne({ v: 0 }, { $set: { _id: 1, v: 1 } }, { upsert: true });
    expect(withOther).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    const soi = await c.findOneAndUpdate(
      { v: 1 },
      { $setOnInsert: { _id: 1 as never }, $set: { v: 2 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(soi).toEqual({ _id: 1, v: 2 });
  });

  it('rejects changing _id of an existing document with code 66 (ImmutableField)', async () => {
    const c = h.db.collection<Document>('id_change');
    await c.insertOne({ _id: 1 as never, v: 0 });
    const viaSet = await serverError(c.updateOne({ _id: 1 as never }, { $set: { _id: 2, v: 1 } }));
    expect(viaSet.code).toBe(66);
    const viaUpsert = await serverError(
      c.findOneAndUpdate({ v: 0 }, { $set: { _id: 2 as never }, $setOnInsert: { w: 1 } }, { upsert: true }),
    );
    expect(viaUpsert.code).toBe(66);
    const viaInc = await serverError(c.updateOne({ _id: 1 as never }, { $inc: { _id: 1 } }));
    expect(viaInc.code).toBe(66);
    expect(await c.find({}).toArray()).toEqual([{ _id: 1, v: 0 }]);
  });
});
