/**
 * Fuzzing from the spec: for every operation of the bundled spec, fast-check generates requests that
 * are invalid in exactly one way (wrong type, missing required field, out-of-range or huge number,
 * oversized or pattern-breaking string with unicode and control characters, extra property, wrong
 * body shape, duplicate JSON key, deep nesting, bad query, path or header) or that name things that
 * do not exist, with valid credentials and otherwise real references, so each request gets past
 * authentication to validation and the handlers. Every answer must be a 4xx in the dialect's error
 * body (never a 5xx, never a hang), and the database must be exactly as before (every document of
 * every collection: counters, seats, devices, ledger, idempotency records, events).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import specJson from '../../generated/openapi.json' with { type: 'json' };
import { startTestServer, type TestServer } from '../support/server.js';
import { fingerprint } from '../v3/support.js';
import { seedV3Activation, seedV4License } from './support/seed.js';
import { credentialHeaders, dialectOfPath, isDialectError, send, v4Headers } from './support/wire.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const spec = specJson as Json;
const RUNS = Number(process.env.FUZZ_RUNS ?? 20);

function resolve(schema: Json): Json {
  let s = schema;
  while (s && typeof s === 'object' && typeof s.$ref === 'string') {
    s = s.$ref.split('/').slice(1).reduce((node: Json, part: string) => node[part.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return s;
}

interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Json;
}

interface Operation {
  id: string;
  method: string;
  path: string;
  params: Param[];
  body: { schema: Json; example: Json } | undefined;
}

const operations: Operation[] = Object.entries(spec.paths as Record<string, Json>).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([, op]) => (op as Json)?.operationId)
    .map(([method, op]: [string, Json]) => {
      const media = op.requestBody?.content?.['application/json'];
      return {
        id: op.operationId as string,
        method: method.toUpperCase(),
        path,
        params: [...(item.parameters ?? []), ...(op.parameters ?? [])].map(resolve) as Param[],
        body: media ? { schema: resolve(media.schema), example: media.example ?? (Object.values(media.examples ?? {})[0] as Json)?.value } : undefined,
      };
    }),
);

/** A request as the fuzzer sends it: body as raw text so it can say what JSON.stringify cannot. */
interface FuzzRequest {
  kind: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  bodyText?: string | undefined;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typesOf(schema: Json): string[] | undefined {
  const s = resolve(schema);
  if (!s || s.type === undefined || s.oneOf || s.anyOf || s.allOf) return undefined;
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  return types.includes('number') ? [...types, 'integer'] : types;
}

const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
/** Hostile text: unicode, control characters, lone surrogates, right-to-left marks, NUL. */
const hostileText = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.constantFrom('\u0000', '\u202e💥\u0007', '../../etc/passwd', '{"$gt":""}', '\ud800', 'Ω'.repeat(300)));
/** Numbers as raw JSON text, beyond what a 64-bit integer or a double holds. */
const hugeNumberText = fc.constantFrom('9223372036854775808', '-9223372036854775809', '99999999999999999999999999', '1e400', '-1e400', '1e-400', '18446744073709551616');

const nested = (depth: number): unknown => {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { k: value };
  return value;
};

describe('fuzzing every operation of the spec', () => {
  let t: TestServer;
  let realPathIds: Record<string, string>;
  let realBodyRefs: Record<string, Record<string, unknown>>;
  let realQuery: Record<string, Record<string, string>>;

  async function snapshot(): Promise<Record<string, unknown[]>> {
    const models = t.server.db.models as unknown as Record<string, { find(filter: object): { sort(s: object): { lean(): Promise<unknown[]> } } }>;
    const out: Record<string, unknown[]> = {};
    for (const [name, model] of Object.entries(models)) out[name] = await model.find({}).sort({ _id: 1 }).lean();
    return JSON.parse(JSON.stringify(out)) as Record<string, unknown[]>;
  }

  beforeAll(async () => {
    t = await startTestServer();
    const accountId = t.account.id;
    const v4 = await seedV4License(t.services, accountId, 50);
    const v3 = await seedV3Activation(t.services, accountId);
    // Some consumption already counted, so a decrement or reset would show.
    await t.services.consumption.consume({ accountId, license: { licenseId: v4.license.id }, target: { scope: 'feature', code: 'api-calls' }, amount: 7, seat: { hardwareId: 'hw-1' }, negatives: 'policy', event: 'consumption_add' });
    await t.services.consumption.consume({ accountId, license: { licenseId: v4.license.id }, target: { scope: 'license' }, amount: 3, seat: { hardwareId: 'hw-1' }, negatives: 'policy', event: 'consumption_add' });
    const v4Body = v4.body();
    const device = (await t.services.devices.listDevices(accountId, { licenseId: v4.license.id }, 0, 1)).items[0]!;
    const v3License = v3.license;
    realPathIds = {
      '/api/v1/products/{id}/': String(v4.license.productId),
      '/api/v1/licenses/{id}/': String(v4.license.id),
      '/api/v1/devices/{id}/': String(device.id),
      '/v3/activations/{id}': v3.activationId,
      '/v3/activations/meter-attributes/{id}': 'api-calls',
      '/v3/accounts/{accountId}/jwks': String(accountId),
    };
    const v4Refs = { license_key: v4Body.license_key, product: v4Body.product, hardware_id: 'hw-1', feature: 'api-calls' };
    const v3Refs = { key: v3License.key!, productId: String(v3License.productId), accountId: String(accountId), activationId: v3.activationId, fingerprint: fingerprint('fuzz') };
    realBodyRefs = { v4: v4Refs, v3: v3Refs, v1: { product: v4.license.productId } };
    realQuery = {
      checkLicense: { product: v4Refs.product, hardware_id: 'hw-1', license_key: v4Refs.license_key },
      checkLicenseFeature: { product: v4Refs.product, hardware_id: 'hw-1', license_key: v4Refs.license_key, feature: 'api-calls' },
      listV1ProductFeatures: { product: String(v4.license.productId) },
    };
  });

  afterAll(async () => {
    await t?.stop();
  });

  /** The operation's request made valid with real references, before its one mutation. */
  function baseRequest(op: Operation): FuzzRequest {
    const dialect = dialectOfPath(op.path);
    let path = op.path;
    for (const [template, id] of Object.entries(realPathIds)) {
      const param = /\{(\w+)\}/.exec(template)?.[1];
      if (param && op.path.startsWith(template.slice(0, template.indexOf('{')))) path = path.replace(`{${param}}`, id);
    }
    const refs = realBodyRefs[dialect] ?? {};
    const body = op.body ? Object.fromEntries(Object.entries(op.body.example as Record<string, unknown>).map(([k, v]) => [k, k in refs ? refs[k] : v])) : undefined;
    return {
      kind: 'base',
      method: op.method,
      path,
      query: { ...(realQuery[op.id] ?? {}) },
      headers: credentialHeaders(dialect, t.credentials),
      bodyText: body === undefined ? undefined : JSON.stringify(body),
    };
  }

  function mutations(op: Operation): fc.Arbitrary<FuzzRequest>[] {
    const base = () => baseRequest(op);
    const with_ = (kind: string, change: (r: FuzzRequest) => void) => {
      const r = base();
      r.kind = kind;
      change(r);
      return r;
    };
    const arbs: fc.Arbitrary<FuzzRequest>[] = [];
    // Unknown query parameters are rejected everywhere.
    arbs.push(fc.tuple(fc.stringMatching(/^[a-z_]{1,12}$/), hostileText).map(([name, value]) => with_('extra query parameter', (r) => (r.query[`zz_${name}`] = value))));

    for (const p of op.params) {
      const types = typesOf(p.schema) ?? ['string'];
      if (p.in === 'query') {
        if (p.required) arbs.push(fc.constant(null).map(() => with_(`missing query ${p.name}`, (r) => delete r.query[p.name])));
        if (types.includes('integer') || types.includes('boolean')) {
          arbs.push(fc.oneof(hostileText, hugeNumberText, fc.constantFrom('0', '-1', '1.5', 'true', '')).filter((v) => !/^[1-9]\d{0,5}$/.test(v) && !(types.includes('boolean') && /^(true|false)$/.test(v))).map((v) => with_(`bad query ${p.name}`, (r) => (r.query[p.name] = v))));
        } else if (p.schema.pattern || p.schema.maxLength) {
          const invalid = (v: string) => (p.schema.pattern !== undefined && !new RegExp(p.schema.pattern).test(v)) || [...v].length > (p.schema.maxLength ?? Infinity);
          arbs.push(fc.constantFrom('x'.repeat((p.schema.maxLength ?? 19) + 1), '12345678901234567890', 'abc', '-1', 'é'.repeat(300)).filter(invalid).map((v) => with_(`bad query ${p.name}`, (r) => (r.query[p.name] = v))));
        }
      }
      if (p.in === 'path') {
        const template = `{${p.name}}`;
        // Every path of the spec has at most one parameter.
        const replace = (value: string) => (r: FuzzRequest) => {
          r.path = op.path.replace(template, value);
        };
        if (types.includes('integer')) {
          arbs.push(fc.constantFrom('abc', '0', '-5', '1.5', '99999999999999999999', '9007199254740992', '1e3', '%00', '%F0%9F%92%A5', ' 1').map((v) => with_(`malformed path ${p.name}`, replace(v))));
          arbs.push(fc.integer({ min: 1_000_000_000_000, max: 8_999_999_999_999 }).map((v) => with_(`unknown path ${p.name}`, replace(String(v)))));
        } else {
          arbs.push(fc.constantFrom('x'.repeat(257), '%00', '%E2%80%AE%F0%9F%92%A5', randomUUID(), 'no-such-thing', '..%2F..%2Fetc').map((v) => with_(`unknown or malformed path ${p.name}`, replace(v))));
        }
      }
      if (p.in === 'header' && p.name === 'Idempotency-Key') {
        arbs.push(fc.constantFrom('has space', 'k'.repeat(256), '', 'tab\tkey').map((v) => with_('bad Idempotency-Key', (r) => (r.headers['Idempotency-Key'] = v))));
      }
      if (p.in === 'header' && p.name === 'Date') {
        arbs.push(fc.constantFrom('yesterday', new Date(Date.now() - 3_600_000).toUTCString(), '0', '').map((v) => with_('bad Date', (r) => (r.headers.Date = v))));
      }
    }

    if (op.body) {
      const schema = op.body.schema;
      const props = Object.entries((schema.properties ?? {}) as Record<string, Json>);
      const required: string[] = schema.required ?? [];
      const parsed = () => JSON.parse(base().bodyText!) as Record<string, unknown>;
      const bodyReq = (kind: string, text: string, headers: Record<string, string> = {}) => with_(kind, (r) => ((r.bodyText = text), Object.assign(r.headers, headers)));

      if (required.length > 0) arbs.push(fc.constantFrom(...required).map((name) => bodyReq(`missing ${name}`, JSON.stringify({ ...parsed(), [name]: undefined }))));
      const typed = props.filter(([, s]) => typesOf(s) !== undefined);
      if (typed.length > 0) {
        arbs.push(
          fc
            .tuple(fc.constantFrom(...typed), anyJson)
            .filter(([[, s], v]) => !typesOf(s)!.includes(jsonType(JSON.parse(JSON.stringify(v)))))
            .map(([[name], v]) => bodyReq(`wrong type ${name}`, JSON.stringify({ ...parsed(), [name]: v }))),
        );
        // A duplicate key whose last (winning) value has the wrong type.
        arbs.push(
          fc
            .tuple(fc.constantFrom(...typed), anyJson)
            .filter(([[, s], v]) => !typesOf(s)!.includes(jsonType(JSON.parse(JSON.stringify(v)))))
            .map(([[name], v]) => bodyReq(`duplicate key ${name}`, JSON.stringify(parsed()).replace(/\}$/, `,${JSON.stringify(name)}:${JSON.stringify(v)}}`))),
        );
      }
      const bounded = props.filter(([, s]) => {
        const r = resolve(s);
        return (r.type === 'integer' || r.type === 'number') && (r.maximum !== undefined || r.minimum !== undefined);
      });
      if (bounded.length > 0) {
        arbs.push(
          fc.tuple(fc.constantFrom(...bounded), fc.oneof(hugeNumberText, fc.constant('below'))).map(([[name, s], raw]) => {
            const r = resolve(s);
            const text = raw === 'below' ? (r.minimum !== undefined ? String(r.minimum - 1) : '-1e400') : r.maximum === undefined ? String(-1e6 + (r.minimum ?? 0) - 1) : raw.startsWith('-') || raw === '1e-400' ? String(r.maximum + 1) : raw;
            return bodyReq(`out of range ${name}`, JSON.stringify({ ...parsed(), [name]: '__N__' }).replace('"__N__"', text));
          }),
        );
      }
      const strings = props.filter(([, s]) => {
        const r = resolve(s);
        return r.type === 'string' && (r.maxLength !== undefined || r.pattern !== undefined || r.enum !== undefined || r.format !== undefined);
      });
      if (strings.length > 0) {
        arbs.push(
          fc.tuple(fc.constantFrom(...strings), hostileText).map(([[name, s], text]) => {
            const r = resolve(s);
            // maxLength counts code points (not UTF-16 units): pad by code points.
            const value = r.maxLength !== undefined ? text + 'é'.repeat(Math.max(0, r.maxLength + 1 - [...text].length)) : `\u0000${text}\u202e`;
            return bodyReq(`bad string ${name}`, JSON.stringify({ ...parsed(), [name]: value }));
          }),
        );
      }
      if (schema.additionalProperties === false) {
        arbs.push(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', '$where', 'extra', 'x'.repeat(200)), anyJson).map(([name, v]) => bodyReq(`extra property ${name}`, JSON.stringify(parsed()).replace(/^\{/, `{${JSON.stringify(name)}:${JSON.stringify(v)},`))));
      }
      arbs.push(
        fc
          .constantFrom(
            ['array body', () => JSON.stringify([parsed()])],
            ['string body', () => '"just a string"'],
            ['number body', () => '42'],
            ['null body', () => 'null'],
            ['deep nesting', () => JSON.stringify({ ...parsed(), deep: nested(40) })],
            ['very deep nesting', () => '['.repeat(20_000) + ']'.repeat(20_000)],
            ['invalid JSON', () => JSON.stringify(parsed()).slice(0, -1)],
            ...(required.length > 0 ? [['empty body', () => ''] as const] : []),
            ['huge body', () => JSON.stringify({ ...parsed(), pad: 'x'.repeat(120_000) })],
          )
          .map(([kind, text]) => bodyReq(kind, text())),
      );
      arbs.push(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded').map((type) => bodyReq(`content-type ${type}`, base().bodyText!, { 'Content-Type': type })));

      // Valid requests that name things that do not exist (never a new device: activation with an unknown hardware_id is legitimate).
      const unknownRefs: Record<string, () => unknown> = {
        license_key: () => `NOPE-${randomUUID().slice(0, 8)}`,
        product: () => (typeof parsed().product === 'number' ? 8_888_888_888_888 : `no-such-${randomUUID().slice(0, 6)}`),
        feature: () => 'no-such-feature',
        key: () => `NOPE-${randomUUID().slice(0, 8)}`,
        activationId: () => randomUUID(),
        productId: () => '8888888888888',
        ...(op.id === 'activateLicense' ? {} : { hardware_id: () => `hw-unknown-${randomUUID().slice(0, 6)}` }),
      };
      const refs = Object.keys(parsed()).filter((k) => k in unknownRefs);
      if (refs.length > 0) arbs.push(fc.constantFrom(...refs).map((name) => bodyReq(`unknown ${name}`, JSON.stringify({ ...parsed(), [name]: unknownRefs[name]!() }))));
    }
    return arbs;
  }

  it('answers every generated request of every operation with a 4xx in the dialect body, and changes nothing', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    const seen = new Set<string>();
    for (const op of operations) {
      const dialect = dialectOfPath(op.path);
      await fc.assert(
        fc.asyncProperty(fc.oneof(...mutations(op)), async (req) => {
          seen.add(op.id);
          if (dialect === 'v4' && req.kind !== 'bad Date') Object.assign(req.headers, { ...v4Headers(t.credentials), ...(req.headers['Idempotency-Key'] !== undefined ? { 'Idempotency-Key': req.headers['Idempotency-Key'] } : {}) });
          const query = new URLSearchParams(req.query).toString();
          const res = await send(t.baseUrl, req.method, `${req.path}${query ? `?${query}` : ''}`, { headers: req.headers, ...(req.bodyText !== undefined ? { body: req.bodyText } : {}), timeoutMs: 10_000 });
          const ok = res.status >= 400 && res.status < 500 && isDialectError(dialect, res.status, res.body);
          if (!ok) failures.push(`${op.id} [${req.kind}] ${req.method} ${req.path}?${query} ${req.bodyText?.slice(0, 200) ?? ''} -> ${res.status} ${res.text.slice(0, 300)}`);
          return ok;
        }),
        { numRuns: RUNS, endOnFailure: true },
      ).catch(() => undefined);
    }
    expect(failures).toEqual([]);
    expect(seen.size).toBe(operations.length);
    expect(await snapshot()).toEqual(before);
  }, 120_000);

  // What the fuzzer found (each answered 200 or 201 before it was fixed).
  it.each([
    ['GET', '/api/v1/products/?page=1e400', undefined],
    ['GET', '/api/v1/products/?page=0x10', undefined],
    ['GET', '/api/v1/devices/?page=%202', undefined],
    ['GET', '/api/v1/product-features/?product=1e3', undefined],
    ['GET', '/api/v1/licenses/0x10/', undefined],
    ['GET', '/api/v1/licenses/?page=18446744073709551616', undefined],
    ['POST', '/api/v1/products/', '{"product_name":"p","short_code":"big","unused":9223372036854775808}'],
    ['POST', '/api/v1/product-features/', '{"product":1e400,"name":"n","code":"c","feature_type":"activation"}'],
  ])('regression: %s %s answers 400 validation_failed', async (method, path, body) => {
    const res = await send(t.baseUrl, method, path, { headers: credentialHeaders('v1', t.credentials), ...(body ? { body } : {}) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 400, code: 'validation_failed', message: expect.any(String) });
  });

  it('regression: an int64 beyond 2^53 (rounded by any JSON parser) is rejected, not stored rounded', async () => {
    const v3 = realBodyRefs.v3!;
    const body = `{"os":"linux","fingerprint":"${fingerprint('int64')}","hostname":"h","userHash":"u","productId":"${String(v3.productId)}","accountId":"","key":"${String(v3.key)}","leaseDuration":9223372036854775808}`;
    const res = await send(t.baseUrl, 'POST', '/v3/activations', { body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 'VALIDATION_FAILED', message: 'body.leaseDuration must be an integer from -9007199254740991 to 9007199254740991' });
  });
});
