import { describe, expect, it, beforeAll } from 'vitest';
import { useDatabase } from './setup.js';

describe('aggregate', () => {
  const h = useDatabase();

  beforeAll(async () => {
    await h.db.collection('orders').insertMany([
      { _id: 1 as never, customer: 'a', amount: 10, items: ['x', 'y'], at: new Date('2024-01-01') },
      { _id: 2 as never, customer: 'a', amount: 5, items: ['y'], at: new Date('2024-02-01') },
      { _id: 3 as never, customer: 'b', amount: 7, items: [], at: new Date('2024-02-15') },
      { _id: 4 as never, customer: 'c', amount: 1, items: ['z'], at: new Date('2024-03-01') },
    ]);
    await h.db.collection('customers').insertMany([
      { _id: 'a' as never, name: 'Acme' },
      { _id: 'b' as never, name: 'Bolt' },
    ]);
  });

  it('$match, $group, $sort, $project', async () => {
    const res = await h.db
      .collection('orders')
      .aggregate([
        { $match: { amount: { $gte: 5 } } },
        { $group: { _id: '$customer', total: { $sum: '$amount' }, n: { $sum: 1 } } },
        { $sort: { total: -1 } },
        { $project: { _id: 0, customer: '$_id', total: 1, n: 1 } },
      ])
      .toArray();
    expect(res).toEqual([
      { total: 15, n: 2, customer: 'a' },
      { total: 7, n: 1, customer: 'b' },
    ]);
  });

  it('$unwind, $count, $limit, $skip, $addFields', async () => {
    const unwound = await h.db
      .collection('orders')
      .aggregate([{ $unwind: '$items' }, { $count: 'n' }])
      .toArray();
    expect(unwound).toEqual([{ n: 4 }]);
    const paged = await h.db
      .collection('orders')
      .aggregate([{ $sort: { _id: 1 } }, { $skip: 1 }, { $limit: 2 }, { $addFields: { double: { $multiply: ['$amount', 2] } } }, { $project: { double: 1 } }])
      .toArray();
    expect(paged).toEqual([
      { _id: 2, double: 10 },
      { _id: 3, double: 14 },
    ]);
  });

  it('$lookup joins another collection', async () => {
    const res = await h.db
      .collection('orders')
      .aggregate([
        { $match: { _id: 1 } },
        { $lookup: { from: 'customers', localField: 'customer', foreignField: '_id', as: 'customerDoc' } },
        { $project: { _id: 0, 'customerDoc.name': 1 } },
      ])
      .toArray();
    expect(res).toEqual([{ customerDoc: [{ name: 'Acme' }] }]);
  });

  it('does not modify stored documents', async () => {
    await h.db.collection('orders').aggregate([{ $set: { amount: 0, 'nested.x': 1 } }]).toArray();
    expect((await h.db.collection('orders').findOne({ _id: 1 as never }))?.amount).toBe(10);
  });

  it('returns results through a cursor with batchSize and getMore', async () => {
    const c = h.db.collection('many');
    await c.insertMany(Array.from({ length: 130 }, (_, i) => ({ i })));
    const raw = await h.db.command({ aggregate: 'many', pipeline: [{ $sort: { i: 1 } }], cursor: { batchSize: 50 } });
    expect(raw.cursor.firstBatch).toHaveLength(50);
    const all = await c.aggregate([{ $sort: { i: -1 } }], { batchSize: 20 }).toArray();
    expect(all).toHaveLength(130);
    expect(all[0]?.i).toBe(129);
  });

  it('countDocuments uses an aggregation', async () => {
    expect(await h.db.collection('orders').countDocuments({ customer: 'a' })).toBe(2);
    expect(await h.db.collection('orders').countDocuments({ customer: 'a' }, { limit: 1 })).toBe(1);
  });

  it('date operators and $facet', async () => {
    const res = await h.db
      .collection('orders')
      .aggregate([
        { $group: { _id: { $month: '$at' }, n: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(res).toEqual([
      { _id: 1, n: 1 },
      { _id: 2, n: 2 },
      { _id: 3, n: 1 },
    ]);
    const facets = await h.db
      .collection('orders')
      .aggregate([{ $facet: { total: [{ $count: 'n' }], big: [{ $match: { amount: { $gt: 6 } } }, { $count: 'n' }] } }])
      .toArray();
    expect(facets).toEqual([{ total: [{ n: 4 }], big: [{ n: 2 }] }]);
  });

  it('$out writes the results to a collection', async () => {
    await h.db.collection('orders').aggregate([{ $match: { customer: 'a' } }, { $out: 'orders_a' }]).toArray();
    expect(await h.db.collection('orders_a').countDocuments()).toBe(2);
  });
});
