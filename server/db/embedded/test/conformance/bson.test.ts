import { Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

describe('BSON type round trip', () => {
  const h = useDatabase();

  it('keeps every type exactly (promoteValues: false)', async () => {
    const c = h.db.collection('types');
    const oid = new ObjectId();
    const date = new Date('2024-05-06T07:08:09.123Z');
    const doc = {
      _id: oid,
      int32: new Int32(42),
      int64: Long.fromString('9007199254740993'),
      double: new Double(3.5),
      integralDouble: new Double(4),
      decimal: Decimal128.fromString('1234.5678901234567890'),
      binary: new Binary(Buffer.from([1, 2, 3, 255]), 0),
      uuid: new UUID('3b241101-e2bb-4255-8caf-4136c566a962'),
      date,
      str: 'héllo ✓',
      bool: false,
      nul: null,
      regex: /ab+c/i,
      ts: new Timestamp({ t: 1700000000, i: 7 }),
      min: new MinKey(),
      max: new MaxKey(),
      nested: { arr: [1, 'two', { three: new Int32(3) }], empty: {} },
    };
    await c.insertOne(doc);
    const back = await c.findOne({ _id: oid }, { promoteValues: false, promoteLongs: false, promoteBuffers: false });
    expect(back).not.toBeNull();
    expect(back!._id).toEqual(oid);
    expect(back!.int32).toBeInstanceOf(Int32);
    expect((back!.int32 as Int32).value).toBe(42);
    expect(back!.int64).toBeInstanceOf(Long);
    expect((back!.int64 as Long).toString()).toBe('9007199254740993');
    expect(back!.double).toBeInstanceOf(Double);
    expect((back!.double as Double).value).toBe(3.5);
    expect(back!.integralDouble).toBeInstanceOf(Double);
    expect((back!.integralDouble as Double).value).toBe(4);
    expect(back!.decimal).toBeInstanceOf(Decimal128);
    expect(String(back!.decimal)).toBe('1234.5678901234567890');
    expect(back!.binary).toBeInstanceOf(Binary);
    expect(Buffer.from((back!.binary as Binary).buffer)).toEqual(Buffer.from([1, 2, 3, 255]));
    expect((back!.uuid as Binary).sub_type).toBe(4);
    expect(back!.date).toEqual(date);
    expect(back!.str).toBe('héllo ✓');
    expect(back!.bool).toBe(false);
    expect(back!.nul).toBeNull();
    expect(back!.regex).toEqual(/ab+c/i);
    expect((back!.ts as Timestamp).toString()).toBe(new Timestamp({ t: 1700000000, i: 7 }).toString());
    expect(back!.min).toBeInstanceOf(MinKey);
    expect(back!.max).toBeInstanceOf(MaxKey);
    expect(back!.nested).toEqual({ arr: [new Int32(1), 'two', { three: new Int32(3) }], empty: {} });
  });

  it('distinguishes null from missing', async () => {
    const c = h.db.collection('nulls');
    await c.insertMany([{ k: 1, v: null }, { k: 2 }]);
    const one = await c.findOne({ k: 1 }, { projection: { _id: 0 } });
    const two = await c.findOne({ k: 2 }, { projection: { _id: 0 } });
    expect(one).toEqual({ k: 1, v: null });
    expect(two).toEqual({ k: 2 });
    expect(await c.countDocuments({ v: null })).toBe(2);
    expect(await c.countDocuments({ v: { $exists: true } })).toBe(1);
    expect(await c.countDocuments({ v: { $type: 'null' } })).toBe(1);
  });

  it('$inc keeps Int64 as Int64 and Int32 as Int32 (and promotes on overflow)', async () => {
    const c = h.db.collection('inc');
    const { insertedId } = await c.insertOne({ big: Long.fromNumber(10), small: new Int32(1), edge: new Int32(2147483647), dbl: new Double(1.5) });
    await c.updateOne({ _id: insertedId }, { $inc: { big: 1, small: 1, edge: 1, dbl: 0.5 } });
    const raw = await c.findOne({ _id: insertedId }, { promoteValues: false, promoteLongs: false });
    expect(raw!.big).toBeInstanceOf(Long);
    expect((raw!.big as Long).toNumber()).toBe(11);
    expect(raw!.small).toBeInstanceOf(Int32);
    expect((raw!.small as Int32).value).toBe(2);
    expect(raw!.edge).toBeInstanceOf(Long);
    expect((raw!.edge as Long).toString()).toBe('2147483648');
    expect(raw!.dbl).toBeInstanceOf(Double);
    expect((raw!.dbl as Double).value).toBe(2);

    await c.updateOne({ _id: insertedId }, { $inc: { big: Long.fromNumber(5) } });
    const bigint = await c.findOne({ _id: insertedId }, { useBigInt64: true });
    expect(bigint!.big).toBe(16n);
  });

  it('queries compare numbers across Int32, Int64, Double and Decimal128', async () => {
    const c = h.db.collection('numeric');
    await c.insertMany([
      { k: 'i', v: new Int32(5) },
      { k: 'l', v: Long.fromNumber(7) },
      { k: 'd', v: 6.5 },
      { k: 'm', v: Decimal128.fromString('8') },
    ]);
    const keys = async (filter: object) => (await c.find(filter).sort({ v: 1 }).toArray()).map((d) => d.k);
    expect(await keys({ v: { $gte: 6 } })).toEqual(['d', 'l', 'm']);
    expect(await keys({ v: 7 })).toEqual(['l']);
    expect(await keys({ v: Long.fromNumber(5) })).toEqual(['i']);
    expect(await keys({})).toEqual(['i', 'd', 'l', 'm']);
    const guarded = await c.findOneAndUpdate(
      { k: 'l', $expr: { $lt: ['$v', 100] } },
      { $inc: { v: 1 } },
      { returnDocument: 'after', promoteLongs: false },
    );
    expect(guarded!.v).toBeInstanceOf(Long);
    expect((guarded!.v as Long).toNumber()).toBe(8);
  });

  it('finds by ObjectId, Date, Binary and UUID values', async () => {
    const c = h.db.collection('lookup_types');
    const ref = new ObjectId();
    const at = new Date('2030-01-01');
    const uuid = new UUID();
    await c.insertMany([{ ref, at, bin: new Binary(Buffer.from('abc')), uuid }, { ref: new ObjectId(), at: new Date(0) }]);
    expect(await c.countDocuments({ ref })).toBe(1);
    expect(await c.countDocuments({ ref: new ObjectId(ref.toHexString()) })).toBe(1);
    expect(await c.countDocuments({ at: { $gt: new Date('2029-01-01') } })).toBe(1);
    expect(await c.countDocuments({ bin: new Binary(Buffer.from('abc')) })).toBe(1);
    expect(await c.countDocuments({ uuid })).toBe(1);
    expect(await c.countDocuments({ ref: { $in: [ref, new ObjectId()] } })).toBe(1);
  });

  it('$type matches every BSON type, by name and by number', async () => {
    const c = h.db.collection('typed');
    await c.insertMany([
      { k: 'oid', v: new ObjectId() },
      { k: 'int', v: new Int32(1) },
      { k: 'long', v: Long.fromNumber(2) },
      { k: 'double', v: 2.5 },
      { k: 'idouble', v: new Double(3) },
      { k: 'decimal', v: Decimal128.fromString('4') },
      { k: 'string', v: 's' },
      { k: 'date', v: new Date() },
      { k: 'bool', v: true },
      { k: 'null', v: null },
      { k: 'array', v: [1, 'x'] },
      { k: 'object', v: { a: 1 } },
      { k: 'bin', v: new Binary(Buffer.from('x')) },
      { k: 'missing' },
    ]);
    const keys = async (t: unknown) => (await c.find({ v: { $type: t as never } }).toArray()).map((d) => d.k).sort();
    expect(await keys('objectId')).toEqual(['oid']);
    expect(await keys(7)).toEqual(['oid']);
    expect(await keys('int')).toEqual(['array', 'int']);
    expect(await keys('long')).toEqual(['long']);
    expect(await keys('double')).toEqual(['double', 'idouble']);
    expect(await keys('decimal')).toEqual(['decimal']);
    expect(await keys('number')).toEqual(['array', 'decimal', 'double', 'idouble', 'int', 'long']);
    expect(await keys('string')).toEqual(['array', 'string']);
    expect(await keys(['date', 'bool'])).toEqual(['bool', 'date']);
    expect(await keys('null')).toEqual(['null']);
    expect(await keys('array')).toEqual(['array']);
    expect(await keys('object')).toEqual(['object']);
    expect(await keys('binData')).toEqual(['bin']);
  });

  it('aggregation keeps stored Int64 values that pass through unchanged', async () => {
    const c = h.db.collection('agg_types');
    await c.insertOne({ _id: 1 as never, big: Long.fromNumber(12), nested: { big: Long.fromNumber(13) } });
    const [doc] = await c
      .aggregate([{ $match: { _id: 1 } }, { $project: { big: 1, nested: 1 } }], { promoteLongs: false })
      .toArray();
    expect(doc!.big).toBeInstanceOf(Long);
    expect((doc!.nested as { big: unknown }).big).toBeInstanceOf(Long);
  });

  it('batches of stored and changed documents keep every type, in firstBatch and nextBatch alike', async () => {
    const c = h.db.collection<{ _id: number; [field: string]: unknown }>('batches');
    const docs = Array.from({ length: 250 }, (_, i) => ({
      _id: i,
      int64: Long.fromNumber(i),
      double: new Double(i),
      negativeZero: new Double(-0),
      decimal: Decimal128.fromString(`${i}.5`),
      binary: new Binary(Buffer.from([i % 256]), 0),
      nested: { arr: [new Int32(i), 'x', { d: new Date(i) }] },
      $dollar: 'stored since 5.0',
    }));
    await c.insertMany(docs);
    // Every third document changed since (its new version not yet re-encoded by the engine).
    await c.updateMany({ _id: { $in: docs.filter((d) => d._id % 3 === 0).map((d) => d._id) } }, { $set: { changed: true } });
    const options = { promoteValues: false, promoteLongs: false, promoteBuffers: false } as const;
    const back = await c.find({}, { ...options, batchSize: 40 }).sort({ _id: 1 }).toArray();
    expect(back).toHaveLength(250);
    back.forEach((d, i) => {
      expect(d).toEqual({ ...docs[i], _id: new Int32(i), ...(i % 3 === 0 ? { changed: true } : {}) });
      expect(d.int64).toBeInstanceOf(Long);
      expect(d.double).toBeInstanceOf(Double);
      expect(Object.is((d.negativeZero as Double).value, -0)).toBe(true);
      expect(Object.keys(d)).toEqual(['_id', 'int64', 'double', 'negativeZero', 'decimal', 'binary', 'nested', '$dollar', ...(i % 3 === 0 ? ['changed'] : [])]);
    });
    const projected = await c.find({ _id: { $lt: 5 } }, { ...options, projection: { double: 1 } }).toArray();
    expect(projected).toEqual(docs.slice(0, 5).map((d) => ({ _id: new Int32(d._id), double: d.double })));
  });
});
