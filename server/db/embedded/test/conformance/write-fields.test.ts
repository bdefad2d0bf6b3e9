/**
 * What an insert or update statement may carry, as MongoDB 7.0 answers: `_id: null`, `$`-prefixed
 * field names (stored since 5.0, except inside `_id`) and fields an update statement does not have
 * on 7.0 (`sort` came in 8.0).
 */
import { DBRef, MongoClient, MongoServerError, ObjectId, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

type NullId = { _id: number | null; n?: number; m?: number };
type AnyId = { _id: unknown; [k: string]: unknown };
type Numbered = { _id: number; [k: string]: unknown };
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as MongoServerError);

describe('_id: null', () => {
  const h = useDatabase();
  let serverIds: MongoClient;
  afterAll(async () => serverIds?.close());

  it('the driver replaces a null _id with an ObjectId unless the server is to assign ids', async () => {
    const c = h.db.collection<NullId>('null_driver');
    const res = await c.insertOne({ _id: null, n: 1 });
    expect(res.insertedId).toBeInstanceOf(ObjectId);
    expect(await c.countDocuments({ _id: null })).toBe(0);
  });

  it('a document stored with _id null is found, and a second one is a duplicate key', async () => {
    serverIds = new MongoClient(h.tdb.uri, { forceServerObjectId: true });
    await serverIds.connect();
    const db = serverIds.db(h.tdb.dbName);

    const one = db.collection<NullId>('null_one');
    await one.insertOne({ _id: null, n: 1 });
    expect(await one.countDocuments({ _id: null })).toBe(1);
    expect(await one.findOne({ _id: null })).toEqual({ _id: null, n: 1 });
    const dup = await failure(one.insertOne({ _id: null, n: 2 }));
    expect(dup).toBeInstanceOf(MongoServerError);
    expect(dup!.code).toBe(11000);
    expect(await one.find({}).toArray()).toEqual([{ _id: null, n: 1 }]);

    const many = db.collection<NullId>('null_many');
    await many.insertMany([{ _id: null, n: 1 }, { _id: 2, n: 2 }]);
    expect(await many.find({ _id: null }).toArray()).toEqual([{ _id: null, n: 1 }]);

    const bulk = db.collection<NullId>('null_bulk');
    await bulk.bulkWrite([{ insertOne: { document: { _id: null, n: 1 } } }, { updateOne: { filter: { _id: null }, update: { $set: { m: 2 } } } }]);
    expect(await bulk.findOne({ _id: null })).toEqual({ _id: null, n: 1, m: 2 });
    const again = await failure(bulk.bulkWrite([{ insertOne: { document: { _id: null } } }]));
    expect(again!.code).toBe(11000);
  });
});

describe('$-prefixed field names on insert', () => {
  const h = useDatabase();

  it('are stored at the top level and in embedded documents', async () => {
    const c = h.db.collection<Numbered>('dollars');
    await c.insertOne({ _id: 1, $a: 1, b: { $c: 2 } });
    await c.insertMany([{ _id: 2, $a: 2 }]);
    await c.bulkWrite([{ insertOne: { document: { _id: 3, $a: 3 } } }]);
    expect(await c.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, $a: 1, b: { $c: 2 } },
      { _id: 2, $a: 2 },
      { _id: 3, $a: 3 },
    ]);
  });

  it('are refused inside _id (52), except a DBRef', async () => {
    const c = h.db.collection<AnyId>('dollar_ids');
    for (const _id of [{ $a: 1 }, { a: { $b: 1 } }, { a: [{ $b: 1 }] }]) {
      const err = await failure(c.insertOne({ _id }));
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err!.code).toBe(52);
      expect(err!.message).toMatch(/\$[ab] is not valid for storage/);
    }
    const many = await failure(c.insertMany([{ _id: 1 }, { _id: { $a: 1 } }]));
    expect(many!.code).toBe(52);
    await c.insertOne({ _id: new DBRef('other', 1 as unknown as ObjectId) });
    const stored = await c.find({}).sort({ _id: 1 }).toArray();
    expect(stored.map((d) => d._id)).toEqual([1, new DBRef('other', 1 as unknown as ObjectId)]);
  });
});

describe('update statements with fields a 7.0 server does not know', () => {
  const h = useDatabase();
  let c: Collection<{ _id: number; x: number }>;
  const untouched = [
    { _id: 1, x: 11 },
    { _id: 2, x: 22 },
    { _id: 3, x: 33 },
  ];

  beforeAll(async () => {
    c = h.db.collection('sorted_updates');
    await c.insertMany(untouched.map((d) => ({ ...d })));
  });

  const refusedAsUnknown = (err: MongoServerError | undefined, field: string) => {
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err!.code).toBe(40415);
    expect(err!.message).toBe(`BSON field '${field}' is an unknown field.`);
  };

  it('updateOne, replaceOne and bulk updates with sort are refused (40415), changing nothing', async () => {
    refusedAsUnknown(await failure(c.updateOne({ _id: { $gt: 1 } }, { $inc: { x: 1 } }, { sort: { _id: -1 } })), 'update.updates.sort');
    refusedAsUnknown(await failure(c.replaceOne({ _id: { $gt: 1 } }, { x: 0 }, { sort: { _id: -1 } })), 'update.updates.sort');
    refusedAsUnknown(
      await failure(c.bulkWrite([{ updateOne: { filter: { _id: { $gt: 1 } }, update: { $inc: { x: 1 } }, sort: { _id: -1 } } }])),
      'update.updates.sort',
    );
    refusedAsUnknown(
      await failure(c.bulkWrite([{ replaceOne: { filter: { _id: { $gt: 1 } }, replacement: { x: 0 }, sort: { _id: -1 } } }])),
      'update.updates.sort',
    );
    expect(await c.find({}).sort({ _id: 1 }).toArray()).toEqual(untouched);
  });

  it('any unknown field in an update or delete statement fails the command', async () => {
    refusedAsUnknown(
      await failure(h.db.command({ update: 'sorted_updates', updates: [{ q: {}, u: { $set: { x: 0 } }, multi: true }, { q: {}, u: { $set: { x: 1 } }, bogus: 1 }] })),
      'update.updates.bogus',
    );
    refusedAsUnknown(await failure(h.db.command({ delete: 'sorted_updates', deletes: [{ q: {}, limit: 0, sort: { _id: 1 } }] })), 'delete.deletes.sort');
    expect(await c.find({}).sort({ _id: 1 }).toArray()).toEqual(untouched);
  });
});
