import mongoose, { Schema, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from './database.js';

interface License {
  key: string;
  owner: string;
  seats: number;
  used: number;
  tags: string[];
  expiresAt?: Date;
}

const licenseSchema = new Schema<License>(
  {
    key: { type: String, required: true, unique: true },
    owner: { type: String, required: true, index: true },
    seats: { type: Number, required: true },
    used: { type: Number, default: 0 },
    tags: { type: [String], default: [] },
    expiresAt: Date,
  },
  { timestamps: true },
);

describe('mongoose end to end', () => {
  let tdb: TestDatabase;
  let conn: Connection;

  beforeAll(async () => {
    tdb = await startTestDatabase();
    conn = await mongoose.createConnection(tdb.uri, { dbName: tdb.dbName }).asPromise();
  });

  afterAll(async () => {
    await conn?.close();
    await tdb?.stop();
  });

  it('creates, enforces unique indexes, updates, counts and reads lean documents', async () => {
    const License = conn.model<License>('License', licenseSchema);
    await License.init();

    const created = await License.create({ key: 'K-1', owner: 'acme', seats: 5 });
    expect(created._id).toBeDefined();
    expect(created.used).toBe(0);

    await expect(License.create({ key: 'K-1', owner: 'other', seats: 1 })).rejects.toMatchObject({
      code: 11000,
      message: expect.stringContaining('E11000'),
      keyValue: { key: 'K-1' },
    });

    await License.create([
      { key: 'K-2', owner: 'acme', seats: 2, tags: ['trial'] },
      { key: 'K-3', owner: 'globex', seats: 10 },
    ]);

    const updated = await License.findOneAndUpdate({ key: 'K-1' }, { $inc: { used: 2 }, $push: { tags: 'pro' } }, { returnDocument: 'after' });
    expect(updated?.used).toBe(2);
    expect(updated?.tags).toEqual(['pro']);

    const before = await License.findOneAndUpdate({ key: 'K-2' }, { $set: { seats: 3 } });
    expect(before?.seats).toBe(2);

    expect(await License.countDocuments({ owner: 'acme' })).toBe(2);
    expect(await License.countDocuments()).toBe(3);
    expect(await License.estimatedDocumentCount()).toBe(3);

    const lean = await License.find({ owner: 'acme' }).sort({ key: 1 }).lean();
    expect(lean.map((l) => l.key)).toEqual(['K-1', 'K-2']);
    expect(lean[0]).not.toBeInstanceOf(mongoose.Document);
    expect(lean[0]!._id).toBeInstanceOf(mongoose.Types.ObjectId);
    expect((lean[0] as unknown as { createdAt: unknown }).createdAt).toBeInstanceOf(Date);

    const one = await License.findById(created._id).select('key seats -_id').lean();
    expect(one).toEqual({ key: 'K-1', seats: 5 });

    const upserted = await License.findOneAndUpdate(
      { key: 'K-4' },
      { $setOnInsert: { owner: 'initech', seats: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(upserted?.owner).toBe('initech');

    const del = await License.deleteMany({ owner: { $in: ['globex', 'initech'] } });
    expect(del.deletedCount).toBe(2);
    expect(await License.exists({ key: 'K-3' })).toBeNull();

    const indexes = await License.collection.indexes();
    expect(indexes.find((i) => i.key.key === 1)?.unique).toBe(true);
  });

  it('validates and saves documents through Document#save', async () => {
    const License = conn.model<License>('License');
    const doc = new License({ key: 'S-1', owner: 'acme', seats: 1 });
    await doc.save();
    doc.seats = 7;
    await doc.save();
    const fresh = await License.findOne({ key: 'S-1' }).lean();
    expect(fresh?.seats).toBe(7);
    await License.updateMany({ owner: 'acme' }, { $set: { owner: 'acme-corp' } });
    expect(await License.countDocuments({ owner: 'acme-corp' })).toBe(3);
  });
});
