import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

describe('indexes', () => {
  const h = useDatabase();

  it('createIndexes / listIndexes / dropIndexes', async () => {
    const c = h.db.collection('ix_basic');
    await c.insertOne({ a: 1, b: 1 });
    expect(await c.createIndex({ a: 1 })).toBe('a_1');
    expect(await c.createIndex({ a: 1, b: -1 }, { name: 'a_b' })).toBe('a_b');
    // creating the same index again is a no-op
    expect(await c.createIndex({ a: 1 })).toBe('a_1');
    const list = await c.indexes();
    expect(list.map((i) => i.name).sort()).toEqual(['_id_', 'a_1', 'a_b']);
    expect(list.find((i) => i.name === 'a_b')?.key).toEqual({ a: 1, b: -1 });
    expect(list.find((i) => i.name === '_id_')?.key).toEqual({ _id: 1 });

    await c.dropIndex('a_b');
    expect((await c.indexes()).map((i) => i.name).sort()).toEqual(['_id_', 'a_1']);
    await expect(c.dropIndex('nope')).rejects.toMatchObject({ code: 27, codeName: 'IndexNotFound' });
    await expect(c.dropIndex('_id_')).rejects.toBeInstanceOf(MongoServerError);
    await c.dropIndexes();
    expect((await c.indexes()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('an index with the same name but different keys is rejected', async () => {
    const c = h.db.collection('ix_conflict');
    await c.createIndex({ a: 1 }, { name: 'idx' });
    await expect(c.createIndex({ b: 1 }, { name: 'idx' })).rejects.toMatchObject({ code: 86 });
    await expect(c.createIndex({ a: 1 }, { name: 'other' })).rejects.toMatchObject({ code: 85 });
  });

  it('unique index violations answer 11000 with keyPattern and keyValue', async () => {
    const c = h.db.collection('ix_unique');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ email: 'a@example.com' });
    const err = (await c.insertOne({ email: 'a@example.com' }).catch((e: unknown) => e)) as MongoServerError;
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(11000);
    expect(err.message).toMatch(/^E11000 duplicate key error collection: .*\.ix_unique index: email_1 dup key: \{ email: "a@example.com" \}/);
    expect(err.keyPattern).toEqual({ email: 1 });
    expect(err.keyValue).toEqual({ email: 'a@example.com' });

    // update into a duplicate
    await c.insertOne({ email: 'b@example.com' });
    await expect(c.updateOne({ email: 'b@example.com' }, { $set: { email: 'a@example.com' } })).rejects.toMatchObject({ code: 11000 });
    expect(await c.countDocuments({ email: 'b@example.com' })).toBe(1);
  });

  it('duplicate _id answers 11000 on the _id_ index', async () => {
    const c = h.db.collection('ix_id');
    await c.insertOne({ _id: 'x' as never });
    const err = (await c.insertOne({ _id: 'x' as never }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ _id: 1 });
    expect(err.keyValue).toEqual({ _id: 'x' });
    expect(err.message).toContain('index: _id_ dup key: { _id: "x" }');
  });

  it('compound unique indexes consider the whole key', async () => {
    const c = h.db.collection('ix_compound');
    await c.createIndex({ tenant: 1, key: 1 }, { unique: true });
    await c.insertMany([
      { tenant: 't1', key: 'a' },
      { tenant: 't2', key: 'a' },
      { tenant: 't1', key: 'b' },
    ]);
    const err = (await c.insertOne({ tenant: 't1', key: 'a' }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ tenant: 1, key: 1 });
    expect(err.keyValue).toEqual({ tenant: 't1', key: 'a' });
    expect(await c.find({ tenant: 't1' }).sort({ key: 1 }).toArray()).toMatchObject([{ key: 'a' }, { key: 'b' }]);
  });

  it('unique indexes treat missing fields as null; sparse indexes skip them', async () => {
    const plain = h.db.collection('ix_missing');
    await plain.createIndex({ code: 1 }, { unique: true });
    await plain.insertOne({ name: 'first' });
    await expect(plain.insertOne({ name: 'second' })).rejects.toMatchObject({ code: 11000 });

    const sparse = h.db.collection('ix_sparse');
    await sparse.createIndex({ code: 1 }, { unique: true, sparse: true });
    await sparse.insertMany([{ name: 'a' }, { name: 'b' }, { code: 1 }]);
    await expect(sparse.insertOne({ code: 1 })).rejects.toMatchObject({ code: 11000 });
    expect((await sparse.indexes()).find((i) => i.name === 'code_1')).toMatchObject({ unique: true, sparse: true });
  });

  it('partial unique indexes only constrain matching documents', async () => {
    const c = h.db.collection('ix_partial');
    await c.createIndex({ key: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.insertMany([
      { key: 'k', active: false },
      { key: 'k', active: false },
      { key: 'k', active: true },
    ]);
    await expect(c.insertOne({ key: 'k', active: true })).rejects.toMatchObject({ code: 11000 });
    expect(await c.countDocuments({ key: 'k' })).toBe(3);
    const spec = (await c.indexes()).find((i) => i.name === 'key_1');
    expect(spec?.partialFilterExpression).toEqual({ active: true });
  });

  it('TTL indexes are accepted and listed', async () => {
    const c = h.db.collection('ix_ttl');
    await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 3600 });
    const spec = (await c.indexes()).find((i) => i.name === 'expiresAt_1');
    expect(spec?.expireAfterSeconds).toBe(3600);
  });

  it('creating a unique index over duplicate data fails with 11000', async () => {
    const c = h.db.collection('ix_existing_dups');
    await c.insertMany([{ a: 1 }, { a: 1 }]);
    await expect(c.createIndex({ a: 1 }, { unique: true })).rejects.toMatchObject({ code: 11000 });
    expect((await c.indexes()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('multikey unique indexes index every array element', async () => {
    const c = h.db.collection('ix_multikey');
    await c.createIndex({ tags: 1 }, { unique: true });
    await c.insertOne({ tags: ['a', 'b'] });
    await expect(c.insertOne({ tags: ['c', 'b'] })).rejects.toMatchObject({ code: 11000 });
    expect(await c.find({ tags: 'b' }).toArray()).toHaveLength(1);
  });

  it('lookups through indexes return the same results as scans', async () => {
    const c = h.db.collection('ix_lookup');
    await c.createIndex({ owner: 1, status: 1 });
    await c.insertMany(
      Array.from({ length: 60 }, (_, i) => ({ owner: `o${i % 3}`, status: i % 2 ? 'on' : 'off', n: i })),
    );
    expect(await c.countDocuments({ owner: 'o1' })).toBe(20);
    expect(await c.countDocuments({ owner: 'o1', status: 'on' })).toBe(10);
    expect(await c.countDocuments({ owner: 'o1', status: 'on', n: { $gt: 30 } })).toBe(5);
    expect(await c.countDocuments({ status: 'on' })).toBe(30);
    await c.updateMany({ owner: 'o1' }, { $set: { owner: 'o9' } });
    expect(await c.countDocuments({ owner: 'o1' })).toBe(0);
    expect(await c.countDocuments({ owner: 'o9', status: 'off' })).toBe(10);
    await c.deleteMany({ owner: 'o9' });
    expect(await c.countDocuments({ owner: 'o9' })).toBe(0);
    expect(await c.countDocuments()).toBe(40);
  });
});
