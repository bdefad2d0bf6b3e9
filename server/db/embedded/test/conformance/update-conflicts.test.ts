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

describe('several $[identifier] paths under one array', () => {
  const h = useDatabase();

  const features = () => [
    { code: 'a', gross: 0 },
    { code: 'b', gross: 0 },
    { code: 'c', gross: 0 },
  ];

  it('updates the same field of different elements through different identifiers', async () => {
    const c = h.db.collection<Document>('af_distinct');
    await c.insertOne({ _id: 1 as never, features: features() });
    const res = await c.updateOne(
      { _id: 1 as never },
      { $inc: { 'features.$[m0].gross': 1, 'features.$[m1].gross': 2 } },
      { arrayFilters: [{ 'm0.code': 'a' }, { 'm1.code': 'b' }] },
    );
    expect(res).toMatchObject({ matchedCount: 1, modifiedCount: 1 });

    const after = await c.findOneAndUpdate(
      { _id: 1 as never },
      { $set: { 'features.$[x].gross': 10 }, $inc: { 'features.$[y].gross': 5, 'features.$[].hits': 1 } },
      { arrayFilters: [{ 'x.code': 'c' }, { 'y.code': { $in: ['a', 'b'] } }], returnDocument: 'after' },
    );
    expect(after?.features).toEqual([
      { code: 'a', gross: 6, hits: 1 },
      { code: 'b', gross: 7, hits: 1 },
      { code: 'c', gross: 10, hits: 1 },
    ]);
  });

  it('rejects identifiers that select the same element for the same path with code 40', async () => {
    const c = h.db.collection<Document>('af_same');
    await c.insertOne({ _id: 1 as never, features: features() });
    const both = await serverError(
      c.updateOne(
        { _id: 1 as never },
        { $inc: { 'features.$[m0].gross': 1, 'features.$[m1].gross': 2 } },
        { arrayFilters: [{ 'm0.code': 'a' }, { 'm1.code': { $in: ['a', 'b'] } }] },
      ),
    );
    expect(both.code).toBe(40);

    const withAll = await serverError(
      c.updateOne({ _id: 1 as never }, { $set: { 'features.$[].gross': 1, 'features.$[m].gross': 2 } }, { arrayFilters: [{ 'm.code': 'c' }] }),
    );
    expect(withAll.code).toBe(40);

    const wholeAndPart = await serverError(
      c.updateOne(
        { _id: 1 as never },
        { $set: { 'features.$[m0]': { code: 'z' }, 'features.$[m1].gross': 1 } },
        { arrayFilters: [{ 'm0.code': 'b' }, { 'm1.code': 'b' }] },
      ),
    );
    expect(wholeAndPart.code).toBe(40);

    const sameIdentifier = await serverError(
      c.updateOne({ _id: 1 as never }, { $set: { 'features.$[m].gross': 1 }, $inc: { 'features.$[m].gross': 1 } }, { arrayFilters: [{ 'm.code': 'a' }] }),
    );
    expect(sameIdentifier.code).toBe(40);

    expect((await c.findOne({ _id: 1 as never }))?.features).toEqual(features());
  });

  it('accepts a whole element and a field of another element, and different fields of one element', async () => {
    const c = h.db.collection<Document>('af_disjoint');
    await c.insertOne({ _id: 1 as never, features: features() });
    await c.updateOne(
      { _id: 1 as never },
      { $set: { 'features.$[m0]': { code: 'z', gross: 9 }, 'features.$[m1].gross': 1, 'features.$[m2].note': 'x' } },
      { arrayFilters: [{ 'm0.code': 'a' }, { 'm1.code': 'b' }, { 'm2.code': 'b' }] },
    );
    expect((await c.findOne({ _id: 1 as never }))?.features).toEqual([
      { code: 'z', gross: 9 },
      { code: 'b', gross: 1, note: 'x' },
      { code: 'c', gross: 0 },
    ]);
  });

  it('nested identifiers conflict only where both outer identifiers select one element', async () => {
    const c = h.db.collection<Document>('af_nested');
    const doc = {
      _id: 0,
      a: [
        { x: 0, b: [{ y: 0, c: 0 }] },
        { x: 1, b: [{ y: 0, c: 0 }] },
      ],
    };
    await c.insertOne(doc as never);
    const conflict = await serverError(
      c.updateOne(
        { _id: 0 as never },
        { $set: { 'a.$[i].b.$[k].c': 1, 'a.$[j].b.$[k].c': 2 } },
        { arrayFilters: [{ 'i.x': 0 }, { 'j.x': 0 }, { 'k.y': 0 }] },
      ),
    );
    expect(conflict.code).toBe(40);
    await c.updateOne(
      { _id: 0 as never },
      { $set: { 'a.$[i].b.$[k].c': 1, 'a.$[j].b.$[k].c': 2 } },
      { arrayFilters: [{ 'i.x': 0 }, { 'j.x': 1 }, { 'k.y': 0 }] },
    );
    expect(await c.findOne({ _id: 0 as never })).toEqual({
      _id: 0,
      a: [
        { x: 0, b: [{ y: 0, c: 1 }] },
        { x: 1, b: [{ y: 0, c: 2 }] },
      ],
    });
  });

  it('selects elements by their values before the update', async () => {
    const c = h.db.collection<Document>('af_before');
    await c.insertOne({
      _id: 1 as never,
      items: [
        { sku: 'x', qty: 5, hits: 0 },
        { sku: 'y', qty: 0, hits: 0 },
      ],
    });
    await c.updateOne(
      { _id: 1 as never },
      { $set: { 'items.$[a].qty': 0 }, $inc: { 'items.$[b].hits': 1 } },
      { arrayFilters: [{ 'a.sku': 'x' }, { 'b.qty': 0 }] },
    );
    expect((await c.findOne({ _id: 1 as never }))?.items).toEqual([
      { sku: 'x', qty: 0, hits: 0 },
      { sku: 'y', qty: 0, hits: 1 },
    ]);
  });
});
