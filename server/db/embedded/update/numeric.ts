/**
 * Type-preserving arithmetic for $inc, $mul and $bit, following mongod's promotion rules:
 * int32 op int32 → int32 (→ int64 on overflow), any int64 → int64, any double → double,
 * any decimal → decimal.
 */
import { Decimal128, Long } from 'bson';
import { ErrorCodes, fail } from '../errors.js';
import { isInt32Number, makeDouble, numKind, toNumber } from '../values.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toBigInt(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v);
  return BigInt((v as Long).toString());
}

export function arith(op: 'add' | 'mul', a: unknown, b: unknown): unknown {
  const ka = numKind(a);
  const kb = numKind(b);
  if (!ka || !kb) fail(ErrorCodes.TypeMismatch, 'Cannot apply arithmetic to non-numeric values');
  if (ka === 'decimal' || kb === 'decimal') {
    const x = toNumber(a);
    const y = toNumber(b);
    return Decimal128.fromString(String(op === 'add' ? x + y : x * y));
  }
  if (ka === 'double' || kb === 'double') {
    const x = toNumber(a);
    const y = toNumber(b);
    return makeDouble(op === 'add' ? x + y : x * y);
  }
  if (ka === 'long' || kb === 'long') {
    const r = op === 'add' ? toBigInt(a) + toBigInt(b) : toBigInt(a) * toBigInt(b);
    if (r < INT64_MIN || r > INT64_MAX) fail(ErrorCodes.BadValue, 'Integer overflow in arithmetic update');
    return Long.fromBigInt(r);
  }
  const r = op === 'add' ? (a as number) + (b as number) : (a as number) * (b as number);
  const n = r === 0 ? 0 : r;
  if (isInt32Number(n)) return n;
  return Long.fromBigInt(op === 'add' ? toBigInt(a) + toBigInt(b) : toBigInt(a) * toBigInt(b));
}

/** The zero of the same numeric type as `v` ($mul on a missing field). */
export function zeroLike(v: unknown): unknown {
  switch (numKind(v)) {
    case 'long':
      return Long.ZERO;
    case 'double':
      return makeDouble(0);
    case 'decimal':
      return Decimal128.fromString('0');
    default:
      return 0;
  }
}

export function bitwise(op: 'and' | 'or' | 'xor', a: unknown, b: unknown): unknown {
  const ka = numKind(a);
  const kb = numKind(b);
  if ((ka !== 'int' && ka !== 'long') || (kb !== 'int' && kb !== 'long')) {
    fail(ErrorCodes.BadValue, '$bit is only supported on integer fields with integer arguments');
  }
  if (ka === 'long' || kb === 'long') {
    const x = toBigInt(a);
    const y = toBigInt(b);
    const r = op === 'and' ? x & y : op === 'or' ? x | y : x ^ y;
    return Long.fromBigInt(BigInt.asIntN(64, r));
  }
  const x = a as number;
  const y = b as number;
  return op === 'and' ? x & y : op === 'or' ? x | y : x ^ y;
}
