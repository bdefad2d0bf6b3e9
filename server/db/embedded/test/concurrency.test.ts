import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from './database.js';

describe('single-document atomicity under concurrency', () => {
  let tdb: TestDatabase;
  let client: MongoClient;

  beforeAll(async () => {
    tdb = await startTestDatabase();
    client = new MongoClient(tdb.uri, { maxPoolSize: 50 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await tdb?.stop();
  });

  it('a guarded findOneAndUpdate never overshoots its limit (500 parallel, limit 200)', async () => {
    const coll = client.db(tdb.dbName).collection<{ _id: ObjectId; used: number; limit: number }>('meters');
    const _id = new ObjectId();
    await coll.insertOne({ _id, used: 0, limit: 200 });

    const results = await Promise.all(
      Array.from({ length: 500 }, () =>
        coll.findOneAndUpdate(
          { _id, $expr: { $lte: [{ $add: ['$used', 1] }, '$limit'] } },
          { $inc: { used: 1 } },
          { returnDocument: 'after' },
        ),
      ),
    );

    const granted = results.filter((r) => r !== null);
    expect(granted).toHaveLength(200);
    const usedValues = granted.map((r) => r!.used).sort((a, b) => a - b);
    expect(usedValues).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const stored = await coll.findOne({ _id });
    expect(stored?.used).toBe(200);
  });

  it('parallel $inc on one document loses no update', async () => {
    const coll = client.db(tdb.dbName).collection<{ _id: string; n: number }>('counters');
    await coll.insertOne({ _id: 'c', n: 0 });
    await Promise.all(Array.from({ length: 300 }, () => coll.updateOne({ _id: 'c' }, { $inc: { n: 1 } })));
    expect((await coll.findOne({ _id: 'c' }))?.n).toBe(300);
  });

  it('parallel upserts on a unique key create exactly one document', async () => {
    const coll = client.db(tdb.dbName).collection('upserts');
    await coll.createIndex({ key: 1 }, { unique: true });
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => coll.updateOne({ key: 'k' }, { $inc: { hits: 1 } }, { upsert: true })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const doc = await coll.findOne({ key: 'k' });
    expect(await coll.countDocuments({ key: 'k' })).toBe(1);
    expect(doc?.hits).toBe(ok);
  });
});
