import { MongoBulkWriteError, ObjectId, type Collection, type Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

describe('insert', () => {
  const h = useDatabase();

  it('insertOne generates an ObjectId _id and insertMany keeps order', async () => {
    const c = h.db.collection('ins');
    const one = await c.insertOne({ a: 1 });
    expect(one.insertedId).toBeInstanceOf(ObjectId);
    const many = await c.insertMany([{ a: 2 }, { a: 3 }]);
    expect(many.insertedCount).toBe(2);
    const docs = await c.find({}, { projection: { _id: 0 } }).toArray();
    expect(docs).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    const first = await c.findOne({ a: 1 });
    expect(Object.keys(first!)[0]).toBe('_id');
  });

  it('ordered inserts stop at the first error; unordered continue', async () => {
    const c = h.db.collection<{ _id: number }>('ins_errors');
    const ordered = (await c
      .insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }])
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    expect(ordered.code).toBe(11000);
    expect(ordered.result.insertedCount).toBe(1);
    expect(await c.countDocuments()).toBe(1);

    const unordered = (await c
      .insertMany([{ _id: 3 }, { _id: 1 }, { _id: 4 }], { ordered: false })
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(unordered.result.insertedCount).toBe(2);
    expect(unordered.writeErrors).toHaveLength(1);
    expect(await c.countDocuments()).toBe(3);
  });
});

describe('find', () => {
  const h = useDatabase();
  let c: Collection<Document>;

  beforeAll(async () => {
    c = h.db.collection('people');
    await c.insertMany([
      { name: 'ann', age: 31, city: 'Oslo', tags: ['a', 'b'], address: { zip: '0150', street: 'Main' } },
      { name: 'bob', age: 25, city: 'Bergen', tags: ['b'], address: { zip: '5003', street: 'Side' } },
      { name: 'cat', age: 42, city: 'Oslo', tags: [], scores: [{ k: 'x', v: 1 }, { k: 'y', v: 5 }] },
      { name: 'dan', age: 25, city: null },
      { name: 'eve', age: 37 },
    ]);
  });

  it('filters with comparison, logical, element, array and regex operators', async () => {
    const names = async (filter: Document) => (await c.find(filter).sort({ name: 1 }).toArray()).map((d) => d.name);
    expect(await names({ age: { $gte: 31 } })).toEqual(['ann', 'cat', 'eve']);
    expect(await names({ age: { $in: [25, 42] } })).toEqual(['bob', 'cat', 'dan']);
    expect(await names({ $or: [{ city: 'Bergen' }, { age: 42 }] })).toEqual(['bob', 'cat']);
    expect(await names({ city: null })).toEqual(['dan', 'eve']);
    expect(await names({ city: { $exists: false } })).toEqual(['eve']);
    expect(await names({ tags: 'b' })).toEqual(['ann', 'bob']);
    expect(await names({ tags: { $size: 0 } })).toEqual(['cat']);
    expect(await names({ 'address.zip': '5003' })).toEqual(['bob']);
    expect(await names({ scores: { $elemMatch: { k: 'y', v: { $gt: 2 } } } })).toEqual(['cat']);
    expect(await names({ name: /^[ab]/ })).toEqual(['ann', 'bob']);
    expect(await names({ name: { $regex: 'E', $options: 'i' } })).toEqual(['eve']);
    expect(await names({ age: { $not: { $gt: 30 } } })).toEqual(['bob', 'dan']);
    expect(await names({ $expr: { $gt: ['$age', 40] } })).toEqual(['cat']);
    expect(await names({ $and: [{ age: 25 }, { city: { $ne: null } }] })).toEqual(['bob']);
  });

  it('sort, skip, limit and projection', async () => {
    const docs = await c
      .find({}, { projection: { _id: 0, name: 1, age: 1 } })
      .sort({ age: -1, name: 1 })
      .skip(1)
      .limit(3)
      .toArray();
    expect(docs).toEqual([
      { name: 'eve', age: 37 },
      { name: 'ann', age: 31 },
      { name: 'bob', age: 25 },
    ]);
    const excluded = await c.findOne({ name: 'ann' }, { projection: { address: 0, tags: 0, _id: 0 } });
    expect(excluded).toEqual({ name: 'ann', age: 31, city: 'Oslo' });
    const nested = await c.findOne({ name: 'ann' }, { projection: { 'address.zip': 1 } });
    expect(nested).toEqual({ _id: expect.any(ObjectId), address: { zip: '0150' } });
    const computed = await c.findOne({ name: 'cat' }, { projection: { _id: 0, scores: { $slice: 1 } , name: 1 } });
    expect(computed).toEqual({ name: 'cat', scores: [{ k: 'x', v: 1 }] });
    const positional = await c.findOne({ 'scores.k': 'y' }, { projection: { _id: 0, 'scores.$': 1 } });
    expect(positional).toEqual({ scores: [{ k: 'y', v: 5 }] });
  });

  it('sorts missing and null before numbers and orders mixed types like BSON', async () => {
    const m = h.db.collection('mixed');
    await m.insertMany([{ v: 'str' }, { v: 2 }, { v: null }, {}, { v: 1.5 }, { v: true }, { v: new Date(0) }]);
    const docs = await m.find({}, { projection: { _id: 0 } }).sort({ v: 1 }).toArray();
    const vs = docs.map((d) => d.v);
    expect(vs.slice(0, 2).every((v) => v === null || v === undefined)).toBe(true);
    expect(vs.slice(2)).toEqual([1.5, 2, 'str', true, new Date(0)]);
  });

  it('cursors return batches of batchSize through getMore', async () => {
    const big = h.db.collection('batches');
    await big.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    const cursor = big.find({}, { batchSize: 40 }).sort({ i: 1 });
    const seen: number[] = [];
    for await (const doc of cursor) seen.push(doc.i as number);
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i));

    const raw = await h.db.command({ find: 'batches', filter: {}, batchSize: 100 });
    expect(raw.cursor.firstBatch).toHaveLength(100);
    expect(raw.cursor.ns).toBe(`${h.tdb.dbName}.batches`);
    const more = await h.db.command({ getMore: raw.cursor.id, collection: 'batches', batchSize: 120 });
    expect(more.cursor.nextBatch).toHaveLength(120);
    const last = await h.db.command({ getMore: raw.cursor.id, collection: 'batches' });
    expect(last.cursor.nextBatch).toHaveLength(30);
    expect(Number(last.cursor.id)).toBe(0);
  });

  it('killCursors closes a cursor', async () => {
    const raw = await h.db.command({ find: 'batches', filter: {}, batchSize: 5 });
    const killed = await h.db.command({ killCursors: 'batches', cursors: [raw.cursor.id] });
    expect(killed.cursorsKilled).toHaveLength(1);
    await expect(h.db.command({ getMore: raw.cursor.id, collection: 'batches' })).rejects.toMatchObject({ code: 43 });
    const cursor = h.db.collection('batches').find({}, { batchSize: 10 });
    await cursor.next();
    await cursor.close();
  });

  it('limit with a large default batch and a negative limit returns a single batch', async () => {
    const docs = await h.db.collection('batches').find({}).limit(7).toArray();
    expect(docs).toHaveLength(7);
    const raw = await h.db.command({ find: 'batches', filter: {}, limit: 3, singleBatch: true });
    expect(raw.cursor.firstBatch).toHaveLength(3);
    expect(Number(raw.cursor.id)).toBe(0);
  });

  it('sorts by $natural order', async () => {
    const n = h.db.collection('natural');
    await n.insertMany([{ i: 2 }, { i: 1 }, { i: 3 }]);
    expect((await n.find().sort({ $natural: 1 }).toArray()).map((d) => d.i)).toEqual([2, 1, 3]);
    expect((await n.find().sort({ $natural: -1 }).toArray()).map((d) => d.i)).toEqual([3, 1, 2]);
  });

  it('count and distinct', async () => {
    expect(await c.countDocuments({ city: 'Oslo' })).toBe(2);
    expect(await c.countDocuments({}, { skip: 1, limit: 2 })).toBe(2);
    expect(await c.estimatedDocumentCount()).toBe(5);
    const raw = await h.db.command({ count: 'people', query: { age: 25 } });
    expect(raw.n).toBe(2);
    expect((await c.distinct('city')).sort()).toEqual(['Bergen', 'Oslo', null].sort());
    expect((await c.distinct('tags')).sort()).toEqual(['a', 'b']);
    expect(await c.distinct('age', { city: 'Oslo' })).toEqual(expect.arrayContaining([31, 42]));
    expect(await c.distinct('address.zip')).toEqual(expect.arrayContaining(['0150', '5003']));
  });
});

describe('update', () => {
  const h = useDatabase();

  it('updateOne / updateMany report matched and modified counts', async () => {
    const c = h.db.collection('upd');
    await c.insertMany([{ g: 1, n: 0 }, { g: 1, n: 0 }, { g: 2, n: 0 }]);
    const one = await c.updateOne({ g: 1 }, { $inc: { n: 1 } });
    expect(one).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    const many = await c.updateMany({ g: 1 }, { $set: { flag: true } });
    expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    const noop = await c.updateMany({ g: 1 }, { $set: { flag: true } });
    expect(noop).toMatchObject({ matchedCount: 2, modifiedCount: 0 });
    const none = await c.updateOne({ g: 99 }, { $set: { x: 1 } });
    expect(none).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedId: null });
  });

  it('update operators', async () => {
    interface OpsDoc {
      n: number;
      m: number;
      lo: number;
      hi: number;
      arr: number[];
      set: string[];
      old?: string;
      renamed?: string;
      nested: { a: number; b?: number };
      gone?: boolean;
      bits: number;
      touched?: Date;
    }
    const c = h.db.collection<OpsDoc>('ops');
    const { insertedId } = await c.insertOne({
      n: 5,
      m: 2,
      lo: 10,
      hi: 10,
      arr: [1, 2, 3, 2],
      set: ['a'],
      old: 'x',
      nested: { a: 1 },
      gone: true,
      bits: 5,
    });
    await c.updateOne(
      { _id: insertedId },
      {
        $inc: { n: 2, 'nested.b': 1 },
        $mul: { m: 3 },
        $min: { lo: 3 },
        $max: { hi: 20 },
        $push: { arr: { $each: [9, 8], $sort: 1, $slice: -4 } },
        $addToSet: { set: { $each: ['a', 'b'] } },
        $rename: { old: 'renamed' },
        $unset: { gone: '' },
        $currentDate: { touched: true },
        $bit: { bits: { or: 2 } },
      },
    );
    const doc = await c.findOne({ _id: insertedId });
    expect(doc).toMatchObject({
      n: 7,
      m: 6,
      lo: 3,
      hi: 20,
      arr: [2, 3, 8, 9],
      set: ['a', 'b'],
      renamed: 'x',
      nested: { a: 1, b: 1 },
      bits: 7,
    });
    expect(doc).not.toHaveProperty('gone');
    expect(doc).not.toHaveProperty('old');
    expect(doc?.touched).toBeInstanceOf(Date);

    await c.updateOne({ _id: insertedId }, { $pull: { arr: { $gte: 8 } }, $pop: { set: -1 } });
    await c.updateOne({ _id: insertedId }, { $pullAll: { arr: [3] } });
    expect(await c.findOne({ _id: insertedId }, { projection: { _id: 0, arr: 1, set: 1 } })).toEqual({ arr: [2], set: ['b'] });
  });

  it('rejects $inc on non-numeric fields, _id changes and conflicting paths', async () => {
    const c = h.db.collection('upd_err');
    await c.insertOne({ _id: 1 as never, s: 'str', a: { b: 1 } });
    await expect(c.updateOne({ _id: 1 as never }, { $inc: { s: 1 } })).rejects.toMatchObject({ code: 14 });
    await expect(c.updateOne({ _id: 1 as never }, { $set: { _id: 2 } })).rejects.toMatchObject({ code: 66 });
    await expect(c.updateOne({ _id: 1 as never }, { $set: { a: 1 }, $inc: { 'a.b': 1 } })).rejects.toMatchObject({ code: 40 });
    await expect(c.updateOne({ _id: 1 as never }, { $set: { 's.x': 1 } })).rejects.toMatchObject({ code: 28 });
    expect(await c.findOne({ _id: 1 as never })).toEqual({ _id: 1, s: 'str', a: { b: 1 } });
  });

  it('upsert with $setOnInsert seeds from the filter', async () => {
    const c = h.db.collection('ups');
    const first = await c.updateOne(
      { key: 'k1', 'meta.kind': 'x' },
      { $setOnInsert: { createdBy: 'me' }, $inc: { hits: 1 } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    expect(first.upsertedId).toBeInstanceOf(ObjectId);
    const second = await c.updateOne({ key: 'k1', 'meta.kind': 'x' }, { $setOnInsert: { createdBy: 'other' }, $inc: { hits: 1 } }, { upsert: true });
    expect(second).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    const doc = await c.findOne({ key: 'k1' }, { projection: { _id: 0 } });
    expect(doc).toEqual({ key: 'k1', meta: { kind: 'x' }, createdBy: 'me', hits: 2 });

    const withId = await c.updateOne({ _id: 'custom' as never }, { $set: { v: 1 } }, { upsert: true });
    expect(withId.upsertedId).toBe('custom');
    const replaced = await c.replaceOne({ key: 'k2' }, { key: 'k2', replaced: true }, { upsert: true });
    expect(replaced.upsertedCount).toBe(1);
    expect(await c.findOne({ key: 'k2' }, { projection: { _id: 0 } })).toEqual({ key: 'k2', replaced: true });
  });

  it('replaceOne keeps _id', async () => {
    const c = h.db.collection('repl');
    const { insertedId } = await c.insertOne({ a: 1, b: 2 });
    await c.replaceOne({ _id: insertedId }, { c: 3 });
    expect(await c.findOne({ _id: insertedId })).toEqual({ _id: insertedId, c: 3 });
  });

  it('arrayFilters, $[] and positional $', async () => {
    const c = h.db.collection('arrays');
    const { insertedId } = await c.insertOne({
      grades: [
        { grade: 80, mean: 75 },
        { grade: 85, mean: 90 },
        { grade: 95, mean: 85 },
      ],
      marks: [1, 2, 3],
    });
    await c.updateOne(
      { _id: insertedId },
      { $set: { 'grades.$[hi].top': true } },
      { arrayFilters: [{ 'hi.grade': { $gte: 85 } }] },
    );
    await c.updateOne({ _id: insertedId }, { $inc: { 'marks.$[]': 10 } });
    await c.updateOne({ _id: insertedId, 'grades.grade': 80 }, { $set: { 'grades.$.mean': 0 } });
    const doc = await c.findOne({ _id: insertedId });
    expect(doc?.grades).toEqual([
      { grade: 80, mean: 0 },
      { grade: 85, mean: 90, top: true },
      { grade: 95, mean: 85, top: true },
    ]);
    expect(doc?.marks).toEqual([11, 12, 13]);
  });

  it('aggregation pipeline updates', async () => {
    const c = h.db.collection('pipe');
    await c.insertMany([
      { _id: 1 as never, a: 2, b: 3 },
      { _id: 2 as never, a: 5, b: 5 },
    ]);
    const res = await c.updateMany({}, [{ $set: { sum: { $add: ['$a', '$b'] } } }, { $unset: 'b' }]);
    expect(res.modifiedCount).toBe(2);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, a: 2, sum: 5 },
      { _id: 2, a: 5, sum: 10 },
    ]);
  });
});

describe('delete', () => {
  const h = useDatabase();

  it('deleteOne and deleteMany', async () => {
    const c = h.db.collection('del');
    await c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }, { k: 3 }]);
    expect((await c.deleteOne({ k: 1 })).deletedCount).toBe(1);
    expect((await c.deleteMany({ k: { $gte: 1 } })).deletedCount).toBe(3);
    expect((await c.deleteMany({})).deletedCount).toBe(0);
    expect(await c.countDocuments()).toBe(0);
  });
});

describe('findAndModify', () => {
  const h = useDatabase();
  let c: Collection<Document>;

  beforeAll(async () => {
    c = h.db.collection('fam');
    await c.insertMany([
      { q: 'a', n: 1, p: 3 },
      { q: 'a', n: 2, p: 1 },
      { q: 'b', n: 3, p: 2 },
    ]);
  });

  it('returns the document before or after the update, honouring sort and projection', async () => {
    const before = await c.findOneAndUpdate({ q: 'a' }, { $inc: { n: 10 } }, { sort: { p: 1 }, projection: { _id: 0, n: 1 } });
    expect(before).toEqual({ n: 2 });
    const after = await c.findOneAndUpdate({ q: 'a' }, { $inc: { n: 10 } }, { sort: { p: -1 }, returnDocument: 'after', projection: { _id: 0, n: 1, p: 1 } });
    expect(after).toEqual({ n: 11, p: 3 });
    const none = await c.findOneAndUpdate({ q: 'zzz' }, { $inc: { n: 1 } });
    expect(none).toBeNull();
  });

  it('includeResultMetadata exposes lastErrorObject', async () => {
    const res = await c.findOneAndUpdate({ q: 'b' }, { $set: { seen: true } }, { includeResultMetadata: true, returnDocument: 'after' });
    expect(res.ok).toBe(1);
    expect(res.lastErrorObject).toMatchObject({ n: 1, updatedExisting: true });
    expect(res.value).toMatchObject({ q: 'b', seen: true });
  });

  it('upserts', async () => {
    const res = await c.findOneAndUpdate(
      { q: 'new' },
      { $setOnInsert: { n: 0 } },
      { upsert: true, returnDocument: 'after', includeResultMetadata: true },
    );
    expect(res.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false });
    expect(res.lastErrorObject?.upserted).toBeInstanceOf(ObjectId);
    expect(res.value).toMatchObject({ q: 'new', n: 0 });
    const before = await c.findOneAndUpdate({ q: 'new2' }, { $set: { n: 1 } }, { upsert: true });
    expect(before).toBeNull();
  });

  it('replaces and removes', async () => {
    const replaced = await c.findOneAndReplace({ q: 'b' }, { q: 'b', replaced: true }, { returnDocument: 'after', projection: { _id: 0 } });
    expect(replaced).toEqual({ q: 'b', replaced: true });
    const removed = await c.findOneAndDelete({ q: 'a' }, { sort: { n: -1 } });
    expect(removed).toMatchObject({ q: 'a', n: 12 });
    expect(await c.countDocuments({ q: 'a' })).toBe(1);
    expect(await c.findOneAndDelete({ q: 'zzz' })).toBeNull();
  });

  it('pipeline updates and duplicate keys', async () => {
    const res = await c.findOneAndUpdate({ q: 'new' }, [{ $set: { n: { $add: ['$n', 5] } } }], { returnDocument: 'after' });
    expect(res?.n).toBe(5);
    await c.createIndex({ q: 1 }, { unique: true, partialFilterExpression: { unique: true } });
    await c.insertOne({ q: 'u', unique: true });
    await expect(c.findOneAndUpdate({ q: 'new' }, { $set: { q: 'u', unique: true } })).rejects.toMatchObject({
      code: 11000,
      keyValue: { q: 'u' },
    });
  });
});
