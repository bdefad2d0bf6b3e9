// Converts a bundled OpenAPI 3.1 document (one file, local `#/components/...` refs, as `redocly bundle`
// writes it) into an OpenAPI 3.0.3 document for tools that read only 3.0 (kin-openapi, older
// generators). Used by scripts/generate.mjs; see the README's "OpenAPI 3.0 rendition" for what is lost.
//
//   convertToOpenApi30(doc) -> { document, losses }
//
// `document` is a new object (the input is not changed). `losses` lists, per JSON pointer into the
// input, what 3.0 cannot say and was dropped or loosened: every conversion only ever accepts more
// than the 3.1 schema did, never less (a keyword 3.0 lacks is dropped; a `not` whose subschema would
// lose a keyword is dropped as a whole, since a weaker `not` would refuse more; a `oneOf` with a
// weakened branch becomes an `anyOf`, since weakened branches may overlap).

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Keywords that constrain only values of one JSON type: where they go when a type list is split. */
const KEYWORDS_BY_TYPE = {
  string: ['minLength', 'maxLength', 'pattern'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  array: ['items', 'minItems', 'maxItems', 'uniqueItems'],
  object: ['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],
  boolean: [],
};
const NUMERIC_FORMATS = new Set(['int32', 'int64', 'float', 'double']);

/** The keywords of a 3.0 Schema Object; any other (but `x-` extensions) is 3.1 / JSON Schema 2020-12 only. */
const SCHEMA_30_KEYWORDS = new Set([
  '$ref', 'title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength',
  'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties', 'required', 'enum', 'type', 'not',
  'allOf', 'oneOf', 'anyOf', 'items', 'properties', 'additionalProperties', 'description', 'format', 'default',
  'nullable', 'discriminator', 'readOnly', 'writeOnly', 'example', 'externalDocs', 'deprecated', 'xml',
]);
/** 3.1-only keywords that are assertions: dropping one makes the schema accept more. */
const DROPPED_ASSERTIONS = new Set([
  'unevaluatedProperties', 'unevaluatedItems', 'dependentRequired', 'dependentSchemas', 'prefixItems', 'contains',
  'minContains', 'maxContains', 'if', 'then', 'else', 'patternProperties', 'propertyNames', '$dynamicRef',
]);

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
/** `{type: 'null'}` (or `['null']`), with at most annotations besides. */
const isNullBranch = (b) =>
  isObject(b) &&
  (b.type === 'null' || (Array.isArray(b.type) && b.type.length === 1 && b.type[0] === 'null')) &&
  Object.keys(b).every((k) => ['type', 'description', 'title'].includes(k));
const escape = (key) => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * @param {object} input a bundled OpenAPI 3.1 document
 * @returns {{ document: object, losses: Array<{ pointer: string, keyword: string, note: string }> }}
 */
export function convertToOpenApi30(input) {
  const losses = [];
  const lose = (pointer, keyword, note) => losses.push({ pointer, keyword, note });

  /** Converts one schema; returns the 3.0 schema and whether anything it constrained was dropped. */
  function schema(s, ptr) {
    if (typeof s === 'boolean') {
      // `true` accepts anything; `false` accepts nothing (3.0: `not: {}`).
      return { schema: s ? {} : { not: {} }, lossy: false };
    }
    if (!isObject(s)) return { schema: s, lossy: false };
    let lossy = false;
    let nullBranch = false;
    /** Subschemas that must hold besides, added to allOf once the keywords are all read. */
    const deferredAllOf = [];
    const out = {};

    for (const [key, value] of Object.entries(s)) {
      if (!SCHEMA_30_KEYWORDS.has(key) && !key.startsWith('x-') && !['const', 'examples'].includes(key)) {
        const constrains = DROPPED_ASSERTIONS.has(key);
        if (constrains) lossy = true;
        lose(`${ptr}/${escape(key)}`, key, constrains ? 'no 3.0 equivalent: the constraint is dropped (the 3.0 schema accepts more)' : 'no 3.0 equivalent: annotation dropped');
        continue;
      }
      switch (key) {
        case 'properties': {
          out.properties = {};
          for (const [name, sub] of Object.entries(value)) {
            const r = schema(sub, `${ptr}/properties/${escape(name)}`);
            out.properties[name] = r.schema;
            lossy ||= r.lossy;
          }
          break;
        }
        case 'items':
        case 'additionalProperties': {
          const r = schema(value, `${ptr}/${key}`);
          out[key] = key === 'additionalProperties' && typeof value === 'boolean' ? value : r.schema;
          lossy ||= r.lossy;
          break;
        }
        case 'allOf':
        case 'anyOf':
        case 'oneOf': {
          const branches = [];
          let branchLossy = false;
          value.forEach((sub, i) => {
            // A `{type: 'null'}` branch of a oneOf/anyOf goes; the schema becomes nullable (below).
            if (key !== 'allOf' && isNullBranch(sub)) {
              nullBranch = true;
              return;
            }
            const r = schema(sub, `${ptr}/${key}/${i}`);
            branchLossy ||= r.lossy;
            branches.push(r.schema);
          });
          lossy ||= branchLossy;
          if (key === 'oneOf' && branchLossy) {
            // A weakened branch may now overlap another, and oneOf would refuse a value matching both:
            // anyOf only ever accepts more.
            lose(`${ptr}/oneOf`, 'oneOf', 'a branch lost a keyword 3.0 lacks: the oneOf becomes an anyOf (the 3.0 schema accepts more)');
            deferredAllOf.push({ anyOf: branches });
          } else {
            out[key] = branches;
          }
          break;
        }
        case 'not': {
          const r = schema(value, `${ptr}/not`);
          if (r.lossy) {
            // A `not` of a weakened schema refuses more than before: drop it, so the result only loosens.
            lossy = true;
            lose(`${ptr}/not`, 'not', 'its subschema uses keywords 3.0 lacks: the whole `not` is dropped (the 3.0 schema accepts more)');
          } else {
            out.not = r.schema;
          }
          break;
        }
        case 'const':
          out.enum = [value];
          break;
        case 'examples':
          if (Array.isArray(value)) {
            if (value.length > 0 && !('example' in s)) out.example = value[0];
          } else {
            out.examples = value;
          }
          break;
        case 'exclusiveMinimum':
        case 'exclusiveMaximum': {
          if (typeof value !== 'number') {
            out[key] = value;
            break;
          }
          const bound = key === 'exclusiveMinimum' ? 'minimum' : 'maximum';
          const other = s[bound];
          const stricter = typeof other !== 'number' || (bound === 'minimum' ? value >= other : value <= other);
          if (stricter) {
            out[bound] = value;
            out[key] = true;
          }
          break;
        }
        case 'minimum':
        case 'maximum': {
          const exclusive = key === 'minimum' ? s.exclusiveMinimum : s.exclusiveMaximum;
          // A numeric exclusive bound at least as strict wins (written above or below, whatever the order).
          if (typeof exclusive === 'number' && (key === 'minimum' ? exclusive >= value : exclusive <= value)) break;
          out[key] = value;
          break;
        }
        case 'required':
          // 3.0 requires a non-empty list.
          if (Array.isArray(value) && value.length > 0) out.required = value;
          break;
        default:
          out[key] = value;
      }
    }

    if (deferredAllOf.length > 0) {
      // A single one, where the schema has no anyOf of its own, needs no allOf around it.
      if (deferredAllOf.length === 1 && !('anyOf' in out)) Object.assign(out, deferredAllOf[0]);
      else out.allOf = [...(out.allOf ?? []), ...deferredAllOf];
    }

    // `type`: a list becomes one type (+ nullable) or a oneOf/anyOf of one-type schemas.
    if (Array.isArray(s.type) || s.type === 'null') {
      const types = Array.isArray(s.type) ? [...new Set(s.type)] : ['null'];
      const nullable = types.includes('null');
      const others = types.filter((t) => t !== 'null');
      delete out.type;
      if (others.length === 0) {
        // Only null: 3.0 cannot say "null only"; the closest is a nullable enum of null.
        out.nullable = true;
        out.enum = [null];
        lose(`${ptr}/type`, 'type', '`null` as the only type becomes `nullable: true, enum: [null]`');
      } else if (others.length === 1) {
        out.type = others[0];
        if (nullable) out.nullable = true;
      } else {
        const branches = others.map((type) => {
          const branch = { type };
          for (const k of KEYWORDS_BY_TYPE[type] ?? []) if (k in out) branch[k] = out[k];
          if (typeof out.format === 'string' && (NUMERIC_FORMATS.has(out.format) ? type === 'number' || type === 'integer' : type === 'string')) branch.format = out.format;
          return branch;
        });
        for (const type of others) for (const k of KEYWORDS_BY_TYPE[type] ?? []) delete out[k];
        if (typeof out.format === 'string') delete out.format;
        // integer is a subset of number: with both, a value may match two branches, so anyOf.
        const combinator = others.includes('integer') && others.includes('number') ? 'anyOf' : 'oneOf';
        if (out[combinator]) {
          // The schema already has this combinator: both must hold.
          out.allOf = [...(out.allOf ?? []), { [combinator]: branches }];
        } else {
          out[combinator] = branches;
        }
        if (nullable) out.nullable = true;
      }
    }

    // `enum` with null: 3.0 needs `nullable: true` besides (3.0.3: nullable adds null to the type).
    if (Array.isArray(out.enum) && out.enum.includes(null)) out.nullable = true;

    if (nullBranch) {
      out.nullable = true;
      for (const combinator of ['oneOf', 'anyOf']) {
        const rest = out[combinator];
        if (!Array.isArray(rest) || rest.length !== 1) continue;
        // One branch left: it is the schema (inline: merged in when nothing clashes; a $ref: allOf).
        delete out[combinator];
        const only = rest[0];
        if (!('$ref' in only) && Object.keys(only).every((k) => !(k in out))) Object.assign(out, only);
        else out.allOf = [...(out.allOf ?? []), only];
      }
    }

    // A nullable schema without a type (a nullable oneOf/allOf of refs): 3.0.3 ties `nullable` to `type`,
    // and some tools ignore it otherwise; nothing better is expressible, so it stays as is.

    // `$ref` with siblings: 3.0 ignores siblings of a Reference Object, so the ref moves into allOf.
    if ('$ref' in out && Object.keys(out).length > 1) {
      const { $ref, ...siblings } = out;
      const allOf = [{ $ref }, ...(siblings.allOf ?? [])];
      delete siblings.allOf;
      return { schema: { ...siblings, allOf }, lossy };
    }
    return { schema: out, lossy };
  }

  /** A Reference Object elsewhere than in a schema: 3.0 allows no siblings (3.1's summary/description). */
  function reference(obj, ptr) {
    if (Object.keys(obj).length > 1) lose(ptr, '$ref', 'siblings of a non-schema $ref (summary/description) are dropped');
    return { $ref: obj.$ref };
  }

  function content(c, ptr) {
    const out = {};
    for (const [type, media] of Object.entries(c)) out[type] = mediaType(media, `${ptr}/${escape(type)}`);
    return out;
  }

  function mediaType(m, ptr) {
    const out = { ...m };
    if ('schema' in m) out.schema = schema(m.schema, `${ptr}/schema`).schema;
    if (isObject(m.encoding)) {
      out.encoding = {};
      for (const [name, enc] of Object.entries(m.encoding)) {
        out.encoding[name] = isObject(enc.headers) ? { ...enc, headers: map(enc.headers, `${ptr}/encoding/${escape(name)}/headers`, header) } : enc;
      }
    }
    return out;
  }

  /** A parameter or header (same shape, a header has no name/in). */
  function parameterLike(p, ptr) {
    if ('$ref' in p) return reference(p, ptr);
    const out = { ...p };
    if ('schema' in p) out.schema = schema(p.schema, `${ptr}/schema`).schema;
    if (isObject(p.content)) out.content = content(p.content, `${ptr}/content`);
    return out;
  }
  const header = parameterLike;
  const parameter = parameterLike;

  function requestBody(b, ptr) {
    if ('$ref' in b) return reference(b, ptr);
    return isObject(b.content) ? { ...b, content: content(b.content, `${ptr}/content`) } : { ...b };
  }

  function response(r, ptr) {
    if ('$ref' in r) return reference(r, ptr);
    const out = { ...r };
    if (isObject(r.headers)) out.headers = map(r.headers, `${ptr}/headers`, header);
    if (isObject(r.content)) out.content = content(r.content, `${ptr}/content`);
    return out;
  }

  function operation(op, ptr) {
    const out = { ...op };
    if (Array.isArray(op.parameters)) out.parameters = op.parameters.map((p, i) => parameter(p, `${ptr}/parameters/${i}`));
    if (isObject(op.requestBody)) out.requestBody = requestBody(op.requestBody, `${ptr}/requestBody`);
    if (isObject(op.responses)) out.responses = map(op.responses, `${ptr}/responses`, response);
    else out.responses = { default: { description: 'Any response.' } };
    if (isObject(op.callbacks)) out.callbacks = map(op.callbacks, `${ptr}/callbacks`, callback);
    return out;
  }

  /** A Callback Object: expressions to path items. */
  function callback(cb, ptr) {
    return '$ref' in cb ? reference(cb, ptr) : map(cb, ptr, pathItem);
  }

  function pathItem(item, ptr) {
    if ('$ref' in item) {
      // 3.0 path items may have a $ref only to another document; a bundled one points into components.pathItems.
      const target = resolveLocal(item.$ref);
      if (target) return pathItem(target, ptr);
      return { ...item };
    }
    const out = { ...item };
    for (const method of HTTP_METHODS) if (isObject(item[method])) out[method] = operation(item[method], `${ptr}/${method}`);
    if (Array.isArray(item.parameters)) out.parameters = item.parameters.map((p, i) => parameter(p, `${ptr}/parameters/${i}`));
    return out;
  }

  function resolveLocal(ref) {
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return undefined;
    let node = input;
    for (const part of ref.slice(2).split('/')) {
      node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return isObject(node) ? node : undefined;
  }

  /** `fn` applied to each object value of `obj` (to every value with `all`), under its JSON pointer. */
  function map(obj, ptr, fn, all = false) {
    const out = {};
    for (const [key, value] of Object.entries(obj)) out[key] = all || isObject(value) ? fn(value, `${ptr}/${escape(key)}`) : value;
    return out;
  }

  // The document, key order kept (openapi, info, servers, ..., paths, x-webhooks where webhooks was).
  const doc = {};
  for (const [key, value] of Object.entries(input)) {
    switch (key) {
      case 'openapi':
        doc.openapi = '3.0.3';
        break;
      case 'jsonSchemaDialect':
        lose('/jsonSchemaDialect', key, 'no 3.0 equivalent: dropped');
        break;
      case 'info': {
        const { summary, ...info } = value;
        if (summary !== undefined) {
          info['x-summary'] = summary;
          lose('/info/summary', 'summary', '3.0 has no info.summary: kept as `x-summary`');
        }
        if (isObject(info.license) && 'identifier' in info.license) {
          const { identifier: _identifier, ...license } = info.license;
          info.license = license;
          lose('/info/license/identifier', 'identifier', '3.0 has no SPDX license identifier: dropped');
        }
        doc.info = info;
        break;
      }
      case 'paths':
        doc.paths = map(value, '/paths', pathItem);
        break;
      case 'webhooks':
        // Redocly's and others' 3.0 extension for 3.1's webhooks.
        doc['x-webhooks'] = map(value, '/webhooks', pathItem);
        break;
      case 'components': {
        const converters = { schemas: (x, p) => schema(x, p).schema, parameters: parameter, headers: header, requestBodies: requestBody, responses: response, callbacks: callback };
        const components = {};
        for (const [kind, entries] of Object.entries(value)) {
          if (kind === 'pathItems') {
            // 3.0 has no components.pathItems; refs to them are inlined by pathItem() above.
            lose(`/components/${kind}`, kind, '3.0 has no components.pathItems: references to them are inlined, the section dropped');
            continue;
          }
          // A schema may be a boolean; the other components are objects.
          components[kind] = converters[kind] ? map(entries, `/components/${kind}`, converters[kind], kind === 'schemas') : entries;
        }
        doc.components = components;
        break;
      }
      default:
        doc[key] = value;
    }
  }
  if (!('paths' in doc)) doc.paths = {};
  return { document: doc, losses };
}
