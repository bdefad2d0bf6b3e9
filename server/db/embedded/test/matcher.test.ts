/**
 * ENGINE-ONLY: the engine compiles filters with mingo's operators but its own lean compiler
 * (query/compile.ts). This property test checks it agrees with stock `mingo.Query` on random
 * documents and filters.
 */
import fc from 'fast-check';
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { fastPaths } from '../query/fast-paths.js';
import { compileQuery, runPipeline } from '../query/mingo.js';

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('x', 'y', '', 'é', '\u{1F600}'),
  fc.boolean(),
  fc.constant(null),
  // (No invalid date here: one Date instance shared by a filter and a document is equal to itself for the lean compiler, not for mingo.Query, which copies the filter.)
  fc.constantFrom(new Date(0), new Date(1), new Date(-1)),
  fc.constantFrom(0.5, -0, Number.NaN, Infinity),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'd'), tie('v'), { maxKeys: 2, noNullPrototype: true })),
})).v;

const field = fc.constantFrom('a', 'b', 'c.d', 'c', 'a.0', 'e');
const doc = fc.record(
  { a: value, b: value, c: fc.oneof(value, fc.record({ d: value }, { noNullPrototype: true })), e: fc.array(fc.record({ d: scalar, a: scalar }, { noNullPrototype: true }), { maxLength: 3 }) },
  { requiredKeys: [], noNullPrototype: true },
);

const opExpr: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  scalar.map((v) => ({ $eq: v })),
  scalar.map((v) => ({ $ne: v })),
  fc.integer({ min: -3, max: 3 }).map((v) => ({ $gt: v })),
  fc.integer({ min: -3, max: 3 }).map((v) => ({ $lte: v })),
  fc.tuple(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), fc.oneof(fc.constantFrom(new Date(0), new Date(1), new Date(NaN)), fc.constantFrom(0, 0.5, Number.NaN, -Infinity))).map(([op, v]) => ({ [op]: v })),
  fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y', 'é')), { maxLength: 3 }).map((v) => ({ $in: v })),
  fc.constantFrom('x', 'y').map((v) => ({ $lt: v })),
  fc.array(scalar, { maxLength: 3 }).map((v) => ({ $in: v })),
  fc.array(scalar, { maxLength: 3 }).map((v) => ({ $nin: v })),
  fc.boolean().map((v) => ({ $exists: v })),
  fc.integer({ min: 0, max: 2 }).map((v) => ({ $size: v })),
  fc.integer({ min: -3, max: 3 }).map((v) => ({ $not: { $gt: v } })),
);

const filter: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  f: fc.oneof(
    { depthSize: 'small' },
    fc.tuple(field, fc.oneof(scalar, opExpr)).map(([k, v]) => ({ [k]: v })),
    fc.tuple(field, opExpr, opExpr).map(([k, x, y]) => ({ [k]: { ...x, ...y } })),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs) => ({ $and: fs })),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs) => ({ $or: fs })),
    fc.array(tie('f'), { minLength: 1, maxLength: 2 }).map((fs) => ({ $nor: fs })),
    fc.tuple(fc.constantFrom('e', 'a'), fc.record({ d: fc.oneof(scalar, opExpr) }, { requiredKeys: [], noNullPrototype: true })).map(([k, c]) => ({ [k]: { $elemMatch: c } })),
    fc.tuple(fc.constantFrom('a', 'b'), opExpr).map(([k, c]) => ({ [k]: { $elemMatch: c } })),
    fc.tuple(tie('f'), tie('f')).map(([x, y]) => ({ ...(x as object), ...(y as object) })),
  ),
})).f as fc.Arbitrary<Record<string, unknown>>;

describe.skipIf(!!process.env.MONGODB_URI)('lean filter compiler (engine only)', () => {
  it('agrees with mingo.Query on random filters and documents', () => {
    fc.assert(
      fc.property(filter, fc.array(doc, { minLength: 1, maxLength: 6 }), (f, docs) => {
        const reference = new Query(f, { useStrictMode: true });
        const lean = compileQuery(f);
        for (const d of docs) expect(lean.test(d)).toBe(reference.test(d));
      }),
      { numRuns: 3000 },
    );
  });

  it('answers $bucket stages of the fast form exactly as the general path does', () => {
    const amount = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.1, 0.2, -0.5, Number.NaN, Infinity, 'x', null, true), fc.constant([1, 2]), fc.constant({ n: 1 }));
    const at = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -2, max: 12 }).map((n) => new Date(n * 1000)) }, fc.constantFrom(undefined, null, 5000, 'x', new Date(NaN)));
    const entry = fc.record({ amount, at, kind: fc.constantFrom('a', 'b') }, { requiredKeys: ['kind'], noNullPrototype: true });
    const sum = fc.constantFrom<unknown>(1, 2.5, '$amount', { $cond: [{ $gt: ['$amount', 0] }, '$amount', 0] }, { $cond: { if: { $lt: ['$amount', 0] }, then: '$amount', else: 0 } }, { $cond: [{ $gte: ['$amount', 1] }, 1, 0] });
    const stage = fc.record({
      boundaries: fc.constantFrom([0, 5000, 10000], [0, 3000, 6000, 9000, 11000], [-2000, 0, 1]),
      output: fc.dictionary(fc.constantFrom('x', 'y', 'z'), sum.map((e) => ({ $sum: e })), { minKeys: 1, maxKeys: 3, noNullPrototype: true }),
      withDefault: fc.boolean(),
    });
    const answer = (docs: unknown[], pipeline: Record<string, unknown>[]) => {
      try {
        return { ok: runPipeline(docs as never[], pipeline) };
      } catch (error) {
        return { error: String(error) };
      }
    };
    fc.assert(
      fc.property(stage, fc.array(entry, { maxLength: 12 }), ({ boundaries, output, withDefault }, docs) => {
        const pipeline = [{ $bucket: { groupBy: { $toLong: '$at' }, boundaries, output, ...(withDefault ? { default: 'other' } : {}) } }];
        const fast = answer(docs, pipeline);
        fastPaths.enabled = false;
        try {
          expect(fast).toEqual(answer(docs, pipeline));
        } finally {
          fastPaths.enabled = true;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
