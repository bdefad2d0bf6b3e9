import type { RequestHandler } from 'express';
import { LICENSE_NAMING_BODIES } from './v4/license-identifiers.js';

/** Marks a field to drop: the alternative form means "left out". */
const ABSENT = Symbol('absent');

/** A documented alternative form of one body field: its spec-typed value, ABSENT, or undefined to leave it as sent. */
type Conversion = (value: unknown) => unknown;

const DIGITS = /^[0-9]{1,19}$/;

/** `"123"` → 123 (a safe integer only; anything else is left for the validator to refuse). */
const digitsAsInteger: Conversion = (value) => {
  if (typeof value !== 'string' || !DIGITS.test(value)) return undefined;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : undefined;
};

/** `0` → false, `1` → true. */
const bitAsBoolean: Conversion = (value) => (value === 0 ? false : value === 1 ? true : undefined);

/**
 * A date-time at midnight UTC (`2030-12-31T00:00:00`, optionally with `.000` and `Z` / `+00:00`) → its
 * date (`2030-12-31`): clients generated from this document may hold a `format: date` field as a
 * date-time (quicktype's Python does) and send it so. Any other time of day is left for the
 * validator to refuse (it would name another day in some time zone).
 */
const midnightAsDate: Conversion = (value) => {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?$/.exec(value);
  return m ? m[1] : undefined;
};

/** `null` on an optional create-request field whose absence means the same (the spec makes it not nullable). */
const nullAsAbsent: Conversion = (value) => (value === null ? ABSENT : undefined);

/**
 * The alternative forms the server accepts besides the spec's single type, per operation path and
 * body field; each is documented in the field's description ("The server also accepts ... for
 * compatibility"). Every other field keeps exactly the spec's type.
 */
const BODY_FORMS: readonly { paths: readonly (string | RegExp)[]; field: string; convert: Conversion; methods?: readonly string[] }[] = [
  {
    paths: LICENSE_NAMING_BODIES,
    field: 'license_id',
    convert: digitsAsInteger,
  },
  { paths: ['/api/v4/add_consumption'], field: 'allow_overages', convert: bitAsBoolean },
  ...['license_key', 'validity_period', 'floating_timeout', 'consumption_period'].map((field) => ({ paths: ['/api/v1/licenses'], field, convert: nullAsAbsent })),
  { paths: ['/api/v1/product-features'], field: 'consumption_period', convert: nullAsAbsent },
  { paths: ['/api/v1/licenses', /^\/api\/v1\/licenses\/[^/]+$/], field: 'validity_period', convert: midnightAsDate, methods: ['POST', 'PATCH'] },
];

/**
 * Runs before request validation: converts the documented alternative form of the named JSON body
 * fields (vendor clients send `license_id` as digits, `allow_overages` as 0/1, null for a create
 * field they leave unset) to the spec's type,
 * so the spec names one JSON type per property while those clients keep working.
 */
export function compatibilityForms(): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if ((req.method === 'POST' || req.method === 'PATCH') && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const path = req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
      const fields = body as Record<string, unknown>;
      for (const form of BODY_FORMS) {
        if (!(form.methods ?? ['POST']).includes(req.method) || !Object.hasOwn(fields, form.field)) continue;
        if (!form.paths.some((p) => (typeof p === 'string' ? p === path : p.test(path)))) continue;
        const converted = form.convert(fields[form.field]);
        if (converted === ABSENT) delete fields[form.field];
        else if (converted !== undefined) fields[form.field] = converted;
      }
    }
    next();
  };
}
