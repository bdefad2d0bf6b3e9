/**
 * The one shared mingo context. mingo copies its operator tables whenever it is handed plain
 * options, so we build the options ONCE, capture mingo's internal ComputeOptions instance, and
 * hand that same instance to every Query / Aggregator (mingo then only makes a cheap shallow copy).
 */
import { Context } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import { Query } from 'mingo/query';
import type { Options, QueryOperator } from 'mingo/types';
import type { Doc } from '../values.js';
import { $bucket } from './bucket.js';
import { $count } from './count.js';
import { $type } from './type-operator.js';
import { compileCondition, leanLogicalOperators, type Predicate } from './compile.js';

/** Resolves `$lookup`/`$unionWith`/`$graphLookup` collection names; set per aggregate call. */
let currentResolver: ((name: string) => Doc[]) | undefined;

export function withCollectionResolver<T>(resolver: (name: string) => Doc[], fn: () => T): T {
  const previous = currentResolver;
  currentResolver = resolver;
  try {
    return fn();
  } finally {
    currentResolver = previous;
  }
}

let captured: Options | undefined;
const captureOperator = ((_selector: string, _value: unknown, options: Options) => {
  captured = options;
  return () => true;
}) as unknown as QueryOperator;

const context = Context.init({
  accumulator: accumulatorOperators as never,
  expression: expressionOperators as never,
  // $bucket: MongoDB's bucket bounds and no empty buckets (see bucket.ts); $count: nothing over no documents.
  pipeline: { ...pipelineOperators, $bucket, $count } as never,
  projection: projectionOperators as never,
  query: {
    ...(queryOperators as unknown as Record<string, QueryOperator>),
    ...leanLogicalOperators,
    $type,
    $__captureOptions: captureOperator,
  },
  window: windowOperators as never,
});

// Built once: mingo clones the context exactly here and never again.
new Query({ x: { $__captureOptions: 1 } }, {
  context,
  idKey: '_id',
  scriptEnabled: false,
  useStrictMode: true,
  failOnError: true,
  collectionResolver: (name: string) => {
    if (!currentResolver) throw new Error(`no collection resolver for '${name}'`);
    return currentResolver(name);
  },
});
if (!captured) throw new Error('mingo: could not capture compute options');

/** The prebuilt mingo options (an internal ComputeOptions instance). */
export const MINGO_OPTIONS: Options = captured;

/** A compiled filter. */
export interface Matcher {
  test(obj: unknown): boolean;
}

export function compileQuery(filter: Doc): Matcher {
  const test: Predicate = compileCondition(filter, MINGO_OPTIONS);
  return { test };
}

export function runPipeline(docs: Iterable<Doc> | Doc[], pipeline: Doc[]): Doc[] {
  const source = Array.isArray(docs) ? docs : Array.from(docs);
  return new Aggregator(pipeline, MINGO_OPTIONS).run(source) as Doc[];
}

