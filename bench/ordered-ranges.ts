/**
 * `node --import tsx bench/ordered-ranges.ts`: the cost of a usage report and of ledger pages for a
 * license with a long history when one month is asked (#24: ordered ranges after an index prefix in
 * the embedded engine). One process: the engine in memory (startEmbeddedMongo) and the official
 * driver; one license with 12 months × 10k entries under the ledger's index {accountId, licenseId,
 * at, _id}; month 6 asked. Prints ms per query (20 after 3 warm-up) and the documents the engine
 * examined per query (`orderedRanges.enabled = false` in the engine gives the old path's figures).
 */
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../server/db/embedded/index.js';
import { plannerStats } from '../server/db/embedded/query/planner.js';

const MONTH = 30 * 86_400_000;
const PER_MONTH = 10_000;

async function main(): Promise<void> {
  const engine = await startEmbeddedMongo({});
  const client = new MongoClient(engine.uri);
  await client.connect();
  try {
    const c = client.db('bench').collection<{ _id: string }>('ledger_entries');
    await c.createIndex({ accountId: 1, licenseId: 1, at: 1, _id: 1 });
    const start = Date.UTC(2025, 0, 1);
    for (let m = 0; m < 12; m++) {
      await c.insertMany(
        Array.from({ length: PER_MONTH }, (_, i) => ({
          _id: `e${m}-${i}`,
          accountId: 'acc1',
          licenseId: 7,
          at: new Date(start + m * MONTH + Math.floor((i * MONTH) / PER_MONTH)),
          scope: 'license',
          event: i % 10 === 0 ? 'refund' : 'consume',
          amount: i % 10 === 0 ? -1 : 1,
        })),
      );
    }
    const from = new Date(start + 5 * MONTH);
    const to = new Date(start + 6 * MONTH);
    const bounds = Array.from({ length: 31 }, (_, d) => from.getTime() + d * 86_400_000);
    const amounts = {
      consumed: { $sum: { $cond: [{ $gt: ['$amount', 0] }, '$amount', 0] } },
      refunded: { $sum: { $cond: [{ $lt: ['$amount', 0] }, '$amount', 0] } },
      net: { $sum: '$amount' },
      count: { $sum: 1 },
    };
    const time = async (label: string, run: () => Promise<unknown>): Promise<void> => {
      for (let i = 0; i < 3; i++) await run();
      const n = 20;
      const examined = plannerStats.docsExamined;
      const t = performance.now();
      for (let i = 0; i < n; i++) await run();
      console.log(`${label}: ${((performance.now() - t) / n).toFixed(2)} ms, documents examined ${(plannerStats.docsExamined - examined) / n}`);
    };
    const filter = { accountId: 'acc1', licenseId: 7, at: { $gte: from, $lt: to }, scope: 'license' };
    const events = { event: { $in: ['consume', 'refund'] } };
    await time('usage report ($match + $bucket)', () => c.aggregate([{ $match: { ...filter, ...events } }, { $bucket: { groupBy: { $toLong: '$at' }, boundaries: bounds, output: amounts } }]).toArray());
    await time('licenseId $in + $group', () => c.aggregate([{ $match: { ...filter, licenseId: { $in: [7, 8] }, ...events } }, { $group: { _id: { license: '$licenseId' }, ...amounts } }]).toArray());
    await time('first ledger page of 100', () => c.find(filter).sort({ at: 1, _id: 1 }).limit(100).toArray());
    const after = { at: new Date(from.getTime() + MONTH / 2), id: 'e5-5000' };
    const tie = { $or: [{ at: { $gt: after.at } }, { at: after.at, _id: { $gt: after.id } }] };
    await time('ledger page after mid-month, at.$gte = the position', () => c.find({ ...filter, at: { $gte: after.at, $lt: to }, ...tie }).sort({ at: 1, _id: 1 }).limit(100).toArray());
    await time('ledger page after mid-month, $or only', () => c.find({ ...filter, ...tie }).sort({ at: 1, _id: 1 }).limit(100).toArray());
  } finally {
    await client.close();
    await engine.stop();
  }
}

void main();
