/**
 * `$type` query operator that knows every BSON type. mingo sees numeric wrappers as plain numbers
 * (see queryView), so this operator reads the original stored document where it can.
 */
import type { Options, QueryOperator } from 'mingo/types';
import { ErrorCodes, fail } from '../errors.js';
import { numKind, rawOf, typeName } from '../values.js';
import { pathValues } from './paths.js';

const ALIASES: Record<string, string> = {
  1: 'double',
  2: 'string',
  3: 'object',
  4: 'array',
  5: 'binData',
  6: 'undefined',
  7: 'objectId',
  8: 'bool',
  9: 'date',
  10: 'null',
  11: 'regex',
  13: 'javascript',
  14: 'symbol',
  16: 'int',
  17: 'timestamp',
  18: 'long',
  19: 'decimal',
  [-1]: 'minKey',
  127: 'maxKey',
};

const KNOWN = new Set([...Object.values(ALIASES), 'number']);

function normalizeType(t: unknown): string {
  const name = typeof t === 'number' ? ALIASES[t] : typeof t === 'string' ? t : undefined;
  if (!name || !KNOWN.has(name)) fail(ErrorCodes.BadValue, `Unknown type name alias: ${String(t)}`);
  return name;
}

function matchesType(v: unknown, wanted: Set<string>): boolean {
  if (v === undefined) return false;
  if (wanted.has('number') && numKind(v) !== undefined) return true;
  let name = typeName(v);
  if (name === 'minkey') name = 'minKey';
  if (name === 'maxkey') name = 'maxKey';
  if (name === 'bsonregexp') name = 'regex';
  if (name === 'code') name = 'javascript';
  return wanted.has(name);
}

export const $type = ((selector: string, value: unknown, _options: Options) => {
  const wanted = new Set((Array.isArray(value) ? value : [value]).map(normalizeType));
  return (obj: unknown) => {
    for (const v of pathValues(rawOf(obj), selector, false)) {
      if (matchesType(v, wanted)) return true;
      if (Array.isArray(v) && !wanted.has('array') && v.some((el) => matchesType(el, wanted))) return true;
    }
    return false;
  };
}) as unknown as QueryOperator;
