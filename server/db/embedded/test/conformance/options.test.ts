/**
 * The options the operations of a typical mongoose + driver application send (the README's
 * "Operations and options" table lists them), each through the driver or mongoose as such an
 * application calls it.
 */
import mongoose, { Schema, type Connection } from 'mongoose';
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

describe('driver options', () => {
  const h = useDatabase();

  it('bulkWrite of unordered updateOne statements ($pull with $in)', async () => {
    const c = h.db.collection<{ _id: number; outbox: { id: string }[] }>('bulk_pull');
    await c.insertMany([
      { _id: 1, outbox: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] },
      { _id: 2, outbox: [{ id: 'd' }] },
    ]);
    const pull = (ids: string[]) => ({ $pull: { outbox: { id: { $in: ids } } } });
    const res = await c.bulkWrite(
      [
        { updateOne: { filter: { _id: 1 }, update: pull(['a', 'c']) } },
        { updateOne: { filter: { _id: 2 }, update: pull(['x']) } },
        { updateOne: { filter: { _id: 3 }, update: pull(['a']) } },
      ],
      { ordered: false },
    );
    expect([res.matchedCount, res.modifiedCount, res.upsertedCount]).toEqual([2, 1, 0]);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, outbox: [{ id: 'b' }] },
      { _id: 2, outbox: [{ id: 'd' }] },
    ]);
  });

  it('insertMany unordered reports every duplicate and inserts the rest', async () => {
    const c = h.db.collection<{ _id: number }>('unordered_dups');
    await c.insertOne({ _id: 2 });
    const err = (await c.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }, { _id: 2 }], { ordered: false }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
    expect((err as unknown as { writeErrors: { index: number }[] }).writeErrors.map((w) => w.index)).toEqual([1, 3]);
    expect((await c.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3]);
  });

  it('writes with writeConcern { w: majority, j: true } and timeoutMS (maxTimeMS) are acknowledged', async () => {
    const client = new MongoClient(h.tdb.uri, { writeConcern: { w: 'majority', journal: true } });
    await client.connect();
    try {
      const c = client.db(h.tdb.dbName).collection<{ _id: string; at?: Date; n?: number }>('wc');
      const up = await c.updateOne({ _id: 'readiness' }, { $set: { at: new Date(0) } }, { upsert: true, timeoutMS: 2_000 });
      expect(up.upsertedId).toBe('readiness');
      expect(await client.db(h.tdb.dbName).command({ ping: 1 }, { timeoutMS: 2_000 })).toMatchObject({ ok: 1 });
      await c.insertOne({ _id: 'x', n: 1 });
      expect(await c.findOneAndUpdate({ _id: 'x' }, { $inc: { n: 1 } }, { returnDocument: 'after' })).toEqual({ _id: 'x', n: 2 });
      expect((await c.deleteMany({})).deletedCount).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('find with projection and limit, findOne with sort and projection, on a sparse index', async () => {
    const c = h.db.collection<{ _id: number; [k: string]: unknown }>('sparse_find');
    await c.createIndex({ 'outbox.kind': 1 }, { sparse: true });
    await c.createIndex({ licenseId: 1, leaseExpiresAt: 1 });
    await c.insertMany([
      { _id: 1, licenseId: 7, leaseExpiresAt: new Date(3000), outbox: [{ kind: 'event', id: 'a' }] },
      { _id: 2, licenseId: 7, leaseExpiresAt: new Date(1000), outbox: [{ kind: 'event', id: 'b' }] },
      { _id: 3, licenseId: 7, leaseExpiresAt: new Date(2000) },
      { _id: 4, licenseId: 8, leaseExpiresAt: new Date(500), outbox: [{ kind: 'seat', id: 'c' }] },
    ]);
    const found = await c.find({ 'outbox.kind': 'event' }, { projection: { outbox: 0 }, limit: 1 }).toArray();
    expect(found).toHaveLength(1);
    expect(Object.keys(found[0]!).sort()).toEqual(['_id', 'leaseExpiresAt', 'licenseId']);
    const first = await c.findOne({ licenseId: 7, leaseExpiresAt: { $lt: new Date(2500) } }, { sort: { leaseExpiresAt: 1 }, projection: { outbox: 0 } });
    expect(first).toEqual({ _id: 2, licenseId: 7, leaseExpiresAt: new Date(1000) });
    const seats = await c.find({ 'outbox.kind': 'seat' }, { projection: { licenseId: 1, outbox: 1 }, limit: 5 }).toArray();
    expect(seats).toEqual([{ _id: 4, licenseId: 8, outbox: [{ kind: 'seat', id: 'c' }] }]);
  });

  it('a unique compound index partial on { $type: string } leaves documents without the field alone', async () => {
    const c = h.db.collection<Document>('partial_type');
    await c.createIndex({ accountId: 1, productId: 1, trialHardwareId: 1 }, { unique: true, partialFilterExpression: { trialHardwareId: { $type: 'string' } } });
    await c.insertMany([
      { accountId: 1, productId: 1 },
      { accountId: 1, productId: 1 },
      { accountId: 1, productId: 1, trialHardwareId: null },
      { accountId: 1, productId: 1, trialHardwareId: null },
      { accountId: 1, productId: 1, trialHardwareId: 'hw' },
    ]);
    const err = (await c.insertOne({ accountId: 1, productId: 1, trialHardwareId: 'hw' }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
    await c.insertOne({ accountId: 1, productId: 2, trialHardwareId: 'hw' });
    expect(await c.countDocuments({ accountId: 1 })).toBe(6);
  });
});

interface Item {
  _id: number;
  accountId: number;
  name: string;
  createdAt: Date;
  n: number;
  extra?: unknown;
}

describe('mongoose options', () => {
  const h = useDatabase();
  let conn: Connection;
  let Item: mongoose.Model<Item>;
  interface CounterDoc {
    _id: string;
    value: number;
  }
  let Counter: mongoose.Model<CounterDoc>;

  beforeAll(async () => {
    conn = await mongoose.createConnection(h.tdb.uri, { dbName: h.tdb.dbName, autoIndex: false, autoCreate: true, bufferCommands: false }).asPromise();
    const itemSchema = new Schema<Item>(
      { _id: Number, accountId: { type: Number, required: true }, name: String, createdAt: { type: Date, required: true }, n: { type: Number, default: 0 } },
      { versionKey: false, minimize: false },
    );
    itemSchema.index({ accountId: 1, name: 1 }, { unique: true });
    itemSchema.index({ accountId: 1, createdAt: -1 });
    itemSchema.index({ createdAt: 1 }, { expireAfterSeconds: 0 });
    Item = conn.model<Item>('Item', itemSchema);
    Counter = conn.model<CounterDoc>('Counter', new Schema<CounterDoc>({ _id: String, value: { type: Number, default: 0 } }, { versionKey: false }));
    await Promise.all([Item, Counter].map((m) => m.createIndexes()));
  });
  afterAll(async () => conn?.close());

  it('createIndexes builds the schema indexes (unique, descending, TTL)', async () => {
    const specs = await Item.collection.indexes();
    const byName = new Map(specs.map((s) => [s.name, s]));
    expect(byName.get('accountId_1_name_1')).toMatchObject({ key: { accountId: 1, name: 1 }, unique: true });
    expect(byName.get('accountId_1_createdAt_-1')).toMatchObject({ key: { accountId: 1, createdAt: -1 } });
    expect(byName.get('createdAt_1')).toMatchObject({ expireAfterSeconds: 0 });
  });

  it('pages with find().sort().skip().limit().lean() and countDocuments; findOne, findById and exists with projections', async () => {
    const future = (i: number) => new Date(Date.UTC(2100, 0, 1, 0, 0, i));
    await Item.create([1, 2, 3, 4, 5].map((i) => ({ _id: i, accountId: i === 5 ? 2 : 1, name: `n${i}`, createdAt: future(i % 3) })));
    const page = await Item.find({ accountId: 1 }).sort({ createdAt: 1, _id: 1 }).skip(1).limit(2).lean();
    expect(page.map((d) => d._id)).toEqual([1, 4]);
    expect(await Item.countDocuments({ accountId: 1 })).toBe(4);
    const oldest = await Item.findOne({}, { name: 1, createdAt: 1 }).sort({ createdAt: 1, _id: 1 }).lean();
    expect(oldest).toEqual({ _id: 3, name: 'n3', createdAt: future(0) });
    expect(await Item.findById(2, { name: 1 }).lean()).toEqual({ _id: 2, name: 'n2' });
    expect(await Item.exists({ accountId: 2, name: 'n5' })).toEqual({ _id: 5 });
    expect(await Item.exists({ accountId: 2, name: 'n1' })).toBeNull();
  });

  it('findOneAndUpdate with returnDocument after, lean and strict: false; upserted counters; replaceOne with a guard', async () => {
    const later = new Date(Date.UTC(2101, 0, 1)); // after the TTL index's reach
    const updated = await Item.findOneAndUpdate({ _id: 1, accountId: 1 }, { $inc: { n: 2 }, $set: { extra: 'x' } }, { returnDocument: 'after', lean: true, strict: false, projection: { n: 1, extra: 1 } });
    expect(updated).toEqual({ _id: 1, n: 2, extra: 'x' });
    const c1 = await Counter.findOneAndUpdate({ _id: 'events' }, { $inc: { value: 3 } }, { upsert: true, returnDocument: 'after' }).lean();
    const c2 = await Counter.findOneAndUpdate({ _id: 'events' }, { $inc: { value: 2 } }, { upsert: true, returnDocument: 'after' }).lean();
    expect([c1?.value, c2?.value]).toEqual([3, 5]);
    const stale = await Item.replaceOne({ _id: 2, n: 99 }, { accountId: 1, name: 'n2', createdAt: later, n: 1 });
    expect(stale.matchedCount).toBe(0);
    const fresh = await Item.replaceOne({ _id: 2, n: 0 }, { accountId: 1, name: 'n2b', createdAt: later, n: 1 });
    expect(fresh.modifiedCount).toBe(1);
    expect(await Item.findById(2).lean()).toEqual({ _id: 2, accountId: 1, name: 'n2b', createdAt: later, n: 1 });
  });
});
