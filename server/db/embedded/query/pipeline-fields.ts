/**
 * Which top-level fields of its input documents a pipeline can observe, so that a read for it
 * decodes only those (storage/docstore.ts `peekFields`). The answer is exact or absent: a pipeline
 * qualifies only when its documents reach a stage that replaces them ($group, $bucket, $count,
 * $sortByCount) through $match, $sort, $skip and $limit alone, and nothing on the way can see the
 * whole document ($$ROOT, $$CURRENT, $getField/$setField/$unsetField, $where, $text, $jsonSchema,
 * or any operator not known here); anything else: null, read whole documents.
 */
import { isPlainObject, type Doc } from '../values.js';

const PASS_THROUGH = new Set(['$match', '$sort', '$skip', '$limit']);
const REPLACING = new Set(['$group', '$bucket', '$count', '$sortByCount']);
/** Query operators whose operands hold no field path of the document. */
const VALUE_OPERATORS = new Set([
  '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$type', '$size', '$mod', '$regex',
  '$options', '$all', '$bitsAllSet', '$bitsAllClear', '$bitsAnySet', '$bitsAnyClear',
]);
/** Expressions that name a field without a `$` path, or see the whole document. */
const WHOLE_DOCUMENT_EXPRESSIONS = new Set(['$getField', '$setField', '$unsetField']);

/** Whether reads for pipelines decode only the fields they observe (tests turn it off to compare). */
export const projectedReads = { enabled: true };

class NotExact extends Error {}

function topLevel(path: string, out: Set<string>): void {
  const field = path.split('.')[0]!;
  // `__proto__` cannot be a plain property of a partial document.
  if (field === '' || field === '__proto__') throw new NotExact();
  out.add(field);
}

/** Field paths of an aggregation expression. */
function expressionFields(expr: unknown, out: Set<string>): void {
  if (typeof expr === 'string') {
    if (!expr.startsWith('$')) return;
    if (expr.startsWith('$$')) {
      const [name, ...rest] = expr.slice(2).split('.');
      if (name === 'ROOT' || name === 'CURRENT') {
        if (rest.length === 0) throw new NotExact();
        topLevel(rest.join('.'), out);
      }
      return;
    }
    topLevel(expr.slice(1), out);
    return;
  }
  if (Array.isArray(expr)) {
    for (const e of expr) expressionFields(e, out);
    return;
  }
  if (isPlainObject(expr)) {
    for (const [k, v] of Object.entries(expr)) {
      if (WHOLE_DOCUMENT_EXPRESSIONS.has(k)) throw new NotExact();
      if (k === '$literal') continue;
      expressionFields(v, out);
    }
  }
}

/** Field paths of a query filter (a $match's). */
function filterFields(filter: unknown, out: Set<string>): void {
  if (!isPlainObject(filter)) throw new NotExact();
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' || k === '$or' || k === '$nor') {
      if (!Array.isArray(v)) throw new NotExact();
      for (const sub of v) filterFields(sub, out);
    } else if (k === '$expr') {
      expressionFields(v, out);
    } else if (k === '$comment') {
      continue;
    } else if (k.startsWith('$')) {
      throw new NotExact();
    } else {
      topLevel(k, out);
      conditionCheck(v);
    }
  }
}

/** A field's condition: values, or operators whose operands are values ($elemMatch/$not: their own conditions). */
function conditionCheck(cond: unknown): void {
  if (!isPlainObject(cond)) return;
  for (const [op, v] of Object.entries(cond)) {
    if (!op.startsWith('$')) return; // an embedded document to compare with
    if (op === '$not' || op === '$elemMatch') {
      if (isPlainObject(v)) conditionCheck(v);
      continue;
    }
    if (!VALUE_OPERATORS.has(op)) throw new NotExact();
  }
}

/**
 * The top-level fields that `leading` (the pipeline's first $match, answered by the planner) and
 * `stages` (the rest) can observe, or null when whole documents are needed.
 */
export function pipelineFields(leading: Doc | undefined, stages: readonly Doc[]): Set<string> | null {
  if (!projectedReads.enabled) return null;
  const out = new Set<string>();
  try {
    if (leading) filterFields(leading, out);
    for (const stage of stages) {
      const name = Object.keys(stage)[0]!;
      const spec = stage[name];
      if (name === '$match') filterFields(spec, out);
      else if (name === '$sort') Object.keys(isPlainObject(spec) ? spec : {}).forEach((k) => topLevel(k, out));
      else if (name === '$skip' || name === '$limit') continue;
      else if (REPLACING.has(name)) {
        if (name !== '$count') expressionFields(spec, out);
        return out;
      } else return null;
      if (!PASS_THROUGH.has(name)) return null;
    }
    return null;
  } catch (err) {
    if (err instanceof NotExact) return null;
    throw err;
  }
}
