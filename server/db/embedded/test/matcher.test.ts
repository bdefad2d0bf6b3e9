/**
 * ENGINE-ONLY: the engine compiles filters with mingo's operators but its own lean compiler
 * (query/compile.ts). This property test checks it agrees with stock `mingo.Query` on random
 * documents and filters.
 */
import fc from 'fast-check';
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { compileQuery } from '../query/mingo.js';

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('x', 'y', ''),
  fc.boolean(),
  fc.constant(null),
  fc.constant(new Date(0)),
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
});
