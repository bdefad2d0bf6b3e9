import { beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from './setup.js';

/** `$bucket` as MongoDB groups: each bucket is [lower, upper), and only buckets with documents are output. */
describe('aggregate $bucket', () => {
  const h = useDatabase();

  beforeAll(async () => {
    await h.db.collection('readings').insertMany([0, 5, 9, 10, 10, 15, 20, 29].map((v, i) => ({ _id: i as never, v, at: new Date(Date.UTC(2026, 0, 1) + v * 3_600_000) })));
  });

  it('puts a value equal to a boundary in the bucket that starts there, and outputs no empty bucket', async () => {
    const res = await h.db
      .collection('readings')
      .aggregate([{ $bucket: { groupBy: '$v', boundaries: [0, 10, 20, 30, 40], output: { n: { $sum: 1 }, values: { $push: '$v' } } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(res).toEqual([
      { _id: 0, n: 3, values: [0, 5, 9] },
      { _id: 10, n: 3, values: [10, 10, 15] },
      { _id: 20, n: 2, values: [20, 29] },
    ]);
  });

  it('does the same with date boundaries, and sends what is outside them to the default bucket', async () => {
    const t = (hours: number) => new Date(Date.UTC(2026, 0, 1) + hours * 3_600_000);
    const res = await h.db
      .collection('readings')
      .aggregate([{ $bucket: { groupBy: '$at', boundaries: [t(0), t(10), t(20)], default: 'later', output: { n: { $sum: 1 } } } }])
      .toArray();
    expect(res).toEqual(
      expect.arrayContaining([
        { _id: t(0), n: 3 },
        { _id: t(10), n: 3 },
        { _id: 'later', n: 2 },
      ]),
    );
    expect(res).toHaveLength(3);
  });
});
