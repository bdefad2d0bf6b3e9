/**
 * ENGINE-ONLY: an aggregation whose documents reach a $group/$bucket/$count/$sortByCount through
 * $match/$sort/$skip/$limit decodes only the fields it observes (query/pipeline-fields.ts,
 * DocStore.peekFields). Property test: on random documents of every BSON type and random
 * pipelines, the answers (with the stored numeric types: promoteValues off) are exactly those of
 * whole-document reads.
 */
import { Binary, Decimal128, Double, Int32, Long, MongoClient, ObjectId, type Collection, type Document } from 'mongodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo, type EmbeddedMongo } from '../index.js';
import { pipelineFields, projectedReads } from '../query/pipeline-fields.js';
import { plannerStats } from '../query/planner.js';

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: -3, max: 3 }).map((n) => new Double(n)),
  fc.constantFrom(0.5, -0, 2.25, Number.NaN, Infinity),
  fc.integer({ min: -3, max: 3 }).map((n) => Long.fromNumber(n)),
  fc.constantFrom(Decimal128.fromString('1.5'), new Int32(7)),
  fc.constantFrom('a', 'b', '', 'é', '\u{1F600}'),
  fc.boolean(),
  fc.constant(null),
  fc.integer({ min: -2, max: 12 }).map((n) => new Date(n * 1000)),
  fc.constantFrom(new ObjectId('64b7f0000000000000000001'), new Binary(Buffer.from([1, 2])), /x/i),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, scalar, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y'), tie('v'), { maxKeys: 2, noNullPrototype: true })),
})).v;
const doc = fc.record({ kind: value, n: value, at: value, sub: value, x: value, noise: fc.string({ maxLength: 40 }) }, { requiredKeys: ['noise'], noNullPrototype: true });

const leading = fc.constantFrom<Document | undefined>(
  undefined,
  {},
  { kind: 'a' },
  { n: { $gt: 0 } },
  { at: { $gte: new Date(2000), $lt: new Date(9000) } },
  { $or: [{ kind: 'b' }, { n: { $lte: 1 } }] },
  { $expr: { $gt: ['$n', 1] } },
  { 'sub.x': { $exists: true } },
  { x: { $type: 'string' } },
  { n: { $type: 'double' } },
  { n: { $type: 'int' } },
  { at: { $type: 'date' } },
);
const middle = fc.array(fc.constantFrom<Document>({ $sort: { n: 1, _id: 1 } }, { $limit: 5 }, { $skip: 1 }, { $match: { kind: { $ne: null } } }), { maxLength: 2 });
const accumulator = fc.constantFrom<Document>(
  { $sum: '$n' },
  { $sum: 1 },
  { $first: '$at' },
  { $push: '$x' },
  { $push: '$$ROOT' },
  { $push: '$$CURRENT.n' },
  { $max: '$sub.x' },
  { $first: { $getField: 'noise' } },
  { $sum: { $cond: [{ $gt: ['$n', 0] }, '$n', 0] } },
);
const replacing = fc.oneof(
  fc.tuple(fc.constantFrom<unknown>('$kind', null, '$sub.x', { $toString: '$kind' }), fc.dictionary(fc.constantFrom('s', 't'), accumulator, { minKeys: 1, maxKeys: 2, noNullPrototype: true })).map(([id, acc]) => ({ $group: { _id: id, ...acc } })),
  fc.constantFrom<Document>(
    { $bucket: { groupBy: { $toLong: '$at' }, boundaries: [0, 5000, 10000], default: 'other', output: { c: { $sum: 1 }, s: { $sum: '$n' } } } },
    { $bucket: { groupBy: '$n', boundaries: [-3, 0, 1, 4], default: 'other' } },
    { $count: 'k' },
    { $sortByCount: '$kind' },
  ),
);
const tail = fc.constantFrom<Document[]>([], [{ $sort: { _id: 1 } }], [{ $project: { _id: 1 } }]);

describe.skipIf(!!process.env.MONGODB_URI)('reads that decode only the fields a pipeline observes (engine only)', () => {
  let engine: EmbeddedMongo;
  let client: MongoClient;
  let seq = 0;
  beforeAll(async () => {
    engine = await startEmbeddedMongo({ port: 0 });
    client = await MongoClient.connect(engine.uri);
  });
  afterAll(async () => {
    await client?.close();
    await engine?.stop();
  });

  const answer = async (c: Collection, pipeline: Document[]) => {
    try {
      return { ok: await c.aggregate(pipeline, { promoteValues: false }).toArray() };
    } catch (error) {
      return { error: (error as { code?: number; message: string }).code ?? (error as Error).message };
    }
  };

  it('answers exactly as whole-document reads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(doc, { maxLength: 10 }), leading, middle, replacing, tail, async (docs, first, mid, stage, rest) => {
        const c = client.db('projected').collection(`c${seq++}`);
        if (docs.length) await c.insertMany(docs.map((d, i) => ({ _id: i, ...d })) as Document[]);
        await c.createIndex({ kind: 1, at: 1 });
        const pipeline = [...(first ? [{ $match: first }] : []), ...mid, stage, ...rest];
        const projected = await answer(c, pipeline);
        projectedReads.enabled = false;
        try {
          expect(projected).toEqual(await answer(c, pipeline));
        } finally {
          projectedReads.enabled = true;
        }
        await c.drop();
      }),
      { numRuns: 300 },
    );
  });

  it('the usage report pipeline observes only its fields; whole documents where a stage could see them all', () => {
    const match = { accountId: 1, licenseId: 7, at: { $gte: new Date(0), $lt: new Date(1) }, scope: 'feature', featureCode: 'f', event: { $in: ['a'] } };
    const bucket = { $bucket: { groupBy: { $toLong: '$at' }, boundaries: [0, 1], output: { net: { $sum: '$amount' }, consumed: { $sum: { $cond: [{ $gt: ['$amount', 0] }, '$amount', 0] } } } } };
    expect([...pipelineFields(match, [bucket])!].sort()).toEqual(['accountId', 'amount', 'at', 'event', 'featureCode', 'licenseId', 'scope']);
    expect(pipelineFields(match, [{ $group: { _id: '$licenseId', all: { $push: '$$ROOT' } } }])).toBeNull();
    expect(pipelineFields(match, [{ $sort: { at: 1 } }, { $limit: 10 }])).toBeNull();
    expect(pipelineFields(match, [{ $project: { at: 1 } }, { $count: 'n' }])).toBeNull();
    expect(pipelineFields({ $where: 'true' }, [{ $count: 'n' }])).toBeNull();
    expect(pipelineFields(match, [{ $group: { _id: { $getField: 'x' } } }])).toBeNull();
  });

  it('the aggregate command reads only those fields through the ledger index', async () => {
    const c = client.db('projected').collection<{ _id: number } & Document>('ledger');
    await c.createIndex({ accountId: 1, licenseId: 1, at: 1, _id: 1 });
    await c.insertMany([1, 2, 3].map((i) => ({ _id: i, accountId: 1, licenseId: 7, at: new Date(i), amount: i, note: 'x'.repeat(100) })));
    const sum = async (stages: Document[]) => {
      const before = plannerStats.partialReads;
      const rows = await c.aggregate([{ $match: { accountId: 1, licenseId: 7, at: { $gte: new Date(0) } } }, ...stages]).toArray();
      return { rows, partial: plannerStats.partialReads - before };
    };
    expect(await sum([{ $group: { _id: null, net: { $sum: '$amount' } } }])).toEqual({ rows: [{ _id: null, net: 6 }], partial: 1 });
    expect(await sum([{ $group: { _id: null, notes: { $push: '$$ROOT.note' } } }])).toEqual({ rows: [{ _id: null, notes: ['x'.repeat(100), 'x'.repeat(100), 'x'.repeat(100)] }], partial: 1 });
    expect(await sum([{ $group: { _id: null, all: { $push: '$$ROOT' } } }, { $project: { n: { $size: '$all' } } }])).toEqual({ rows: [{ _id: null, n: 3 }], partial: 0 });
  });
});
