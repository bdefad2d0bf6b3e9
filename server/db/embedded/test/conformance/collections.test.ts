import { describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

describe('collections and databases', () => {
  const h = useDatabase();

  it('create, listCollections, NamespaceExists (48) and drop', async () => {
    await h.db.createCollection('alpha');
    await h.db.createCollection('beta');
    const names = (await h.db.listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(expect.arrayContaining(['alpha', 'beta']));

    const filtered = await h.db.listCollections({ name: 'alpha' }).toArray();
    expect(filtered).toHaveLength(1);
    expect(filtered[0]).toMatchObject({ name: 'alpha', type: 'collection' });
    const nameOnly = await h.db.listCollections({}, { nameOnly: true }).toArray();
    expect(nameOnly.map((c) => c.name)).toContain('beta');

    await expect(h.db.command({ create: 'alpha' })).rejects.toMatchObject({ code: 48, codeName: 'NamespaceExists' });

    expect(await h.db.collection('beta').drop()).toBe(true);
    const after = (await h.db.listCollections().toArray()).map((c) => c.name);
    expect(after).not.toContain('beta');
  });

  it('inserting creates the collection implicitly', async () => {
    await h.db.collection('implicit').insertOne({ a: 1 });
    const names = (await h.db.listCollections({ name: 'implicit' }).toArray()).map((c) => c.name);
    expect(names).toEqual(['implicit']);
  });

  it('reading a missing collection returns nothing', async () => {
    expect(await h.db.collection('missing').find().toArray()).toEqual([]);
    expect(await h.db.collection('missing').countDocuments()).toBe(0);
    expect(await h.db.collection('missing').findOne({})).toBeNull();
  });

  it('listIndexes on a missing collection answers NamespaceNotFound (26)', async () => {
    await expect(h.db.command({ listIndexes: 'missing-too' })).rejects.toMatchObject({ code: 26 });
  });

  it('renameCollection moves documents and indexes', async () => {
    const src = h.db.collection('rename_src');
    await src.insertMany([{ a: 1 }, { a: 2 }]);
    await src.createIndex({ a: 1 }, { unique: true });
    await src.rename('rename_dst');
    const dst = h.db.collection('rename_dst');
    expect(await dst.countDocuments()).toBe(2);
    expect((await dst.indexes()).map((i) => i.name)).toContain('a_1');
    expect((await h.db.listCollections({ name: 'rename_src' }).toArray()).length).toBe(0);
  });

  it('dropDatabase removes every collection', async () => {
    const other = h.client.db(`${h.tdb.dbName}_drop`);
    await other.collection('x').insertOne({ a: 1 });
    await other.collection('y').insertOne({ a: 1 });
    expect(await other.dropDatabase()).toBe(true);
    expect(await other.listCollections().toArray()).toEqual([]);
    expect(await other.collection('x').countDocuments()).toBe(0);
  });
});
