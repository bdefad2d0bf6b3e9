/**
 * ENGINE-ONLY (uses engine internals; skipped when MONGODB_URI is set).
 * Shows that a guarded findOneAndUpdate by _id costs the same with 100 and 100,000 documents:
 * it examines exactly one document, and its wall-clock time does not grow with the collection.
 */
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo, type EmbeddedMongo } from '../index.js';
import { plannerStats } from '../query/planner.js';

describe.skipIf(!!process.env.MONGODB_URI)('cost does not grow with data (engine only)', () => {
  let engine: EmbeddedMongo;
  let client: MongoClient;

  beforeAll(async () => {
    engine = await startEmbeddedMongo();
    client = new MongoClient(engine.uri);
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await engine?.stop();
  });

  async function measure(size: number): Promise<{ msPerOp: number; examinedPerOp: number; compiledPerOp: number }> {
    const coll = client.db('scale').collection<{ _id: ObjectId; used: number; limit: number; owner: string }>(`meters_${size}`);
    await coll.createIndex({ owner: 1 });
    const ids: ObjectId[] = [];
    for (let start = 0; start < size; start += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, size - start) }, (_, i) => {
        const _id = new ObjectId();
        ids.push(_id);
        return { _id, used: 0, limit: 1_000_000, owner: `o${(start + i) % 1000}` };
      });
      await coll.insertMany(batch);
    }
    const guarded = (i: number) =>
      coll.findOneAndUpdate(
        { _id: ids[(i * 7919) % ids.length]!, $expr: { $lte: [{ $add: ['$used', 1] }, '$limit'] } },
        { $inc: { used: 1 } },
        { returnDocument: 'after' },
      );
    for (let i = 0; i < 200; i++) await guarded(i); // warm up
    const ops = 1500;
    const examined = plannerStats.docsExamined;
    const compiled = plannerStats.matchersCompiled;
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) expect(await guarded(i)).not.toBeNull();
    const msPerOp = (performance.now() - t0) / ops;
    return {
      msPerOp,
      examinedPerOp: (plannerStats.docsExamined - examined) / ops,
      compiledPerOp: (plannerStats.matchersCompiled - compiled) / ops,
    };
  }

  it('guarded findOneAndUpdate by _id: 100 vs 100,000 documents', async () => {
    const small = await measure(100);
    const large = await measure(100_000);
    // Exactly one document examined per operation, and no per-call query compilation.
    expect(small.examinedPerOp).toBe(1);
    expect(large.examinedPerOp).toBe(1);
    expect(large.compiledPerOp).toBe(0);
    // Generous bound: wall-clock cost must not grow with the collection (a scan would be ~1000x).
    expect(large.msPerOp).toBeLessThan(small.msPerOp * 5);
    console.log(`guarded findOneAndUpdate: ${small.msPerOp.toFixed(3)} ms/op @100 docs, ${large.msPerOp.toFixed(3)} ms/op @100k docs`);
  }, 120_000);

  it('equality on an indexed field examines only the matching documents', async () => {
    const coll = client.db('scale').collection('meters_100000');
    const before = plannerStats.docsExamined;
    expect(await coll.countDocuments({ owner: 'o7' })).toBe(100);
    expect(plannerStats.docsExamined - before).toBe(100);
  });

  it('equality on a sparse index examines only the matching documents, and null still finds the rest', async () => {
    const coll = client.db('scale').collection('sparse_tags');
    await coll.createIndex({ 'entries.kind': 1 }, { sparse: true });
    await coll.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: new ObjectId(), n: i, ...(i % 100 === 0 ? { entries: [{ kind: 'ledger' }, { kind: 'event' }] } : {}) })));
    const before = plannerStats.docsExamined;
    expect(await coll.countDocuments({ 'entries.kind': 'ledger' })).toBe(10);
    expect(plannerStats.docsExamined - before).toBe(10);
    expect(await coll.countDocuments({ 'entries.kind': null })).toBe(990);
    expect(await coll.countDocuments({ 'entries.kind': { $ne: 'event' } })).toBe(990);
  });

  it('explain shows the access path', async () => {
    const coll = client.db('scale').collection('meters_100');
    const byId = await coll.find({ _id: new ObjectId() }).explain();
    expect(byId.queryPlanner.winningPlan.stage).toBe('IDHACK');
    const byOwner = await coll.find({ owner: 'o1', used: { $gte: 0 } }).explain();
    expect(byOwner.queryPlanner.winningPlan.inputStage).toMatchObject({ stage: 'IXSCAN', indexName: 'owner_1' });
    const scan = await coll.find({ used: 5 }).explain();
    expect(scan.queryPlanner.winningPlan.stage).toBe('COLLSCAN');
  });
});
