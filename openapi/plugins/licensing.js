// Redocly plugin (redocly.yaml) `licensing`: the generator-friendliness conventions of our spec.
//  - decorator inline-response-headers: response headers inline in the bundle (no `$ref` to
//    `#/components/headers/...`: Perl's OpenAPI::Client cannot resolve them); the files in
//    openapi/components/headers/ stay the source and every response gets a copy.
//  - assertion functions for the configurable rules `rule/...` in redocly.yaml.

function inlineResponseHeaders() {
  return {
    Response: {
      leave(response, ctx) {
        for (const [name, header] of Object.entries(response.headers ?? {})) {
          if (header && typeof header === 'object' && '$ref' in header) {
            const resolved = ctx.resolve(header);
            if (resolved.node) response.headers[name] = structuredClone(resolved.node);
          }
        }
      },
    },
    // Every header is a copy in its response now: the bundle needs no components/headers.
    Root: {
      leave(root) {
        if (root.components) delete root.components.headers;
      },
    },
  };
}

const problem = (message, ctx) => [{ message, location: ctx.baseLocation }];

/** The component name of a schema at the root of a components/schemas file or at #/components/schemas/<name>, else undefined. */
function componentNameOf(ctx) {
  const pointer = ctx.location.pointer;
  const inDocument = /^#\/components\/schemas\/([^/]+)$/.exec(pointer);
  if (inDocument) return decodeURIComponent(inDocument[1]);
  const file = /[/\\]components[/\\]schemas[/\\]([^/\\]+)\.ya?ml$/.exec(ctx.location.source.absoluteRef);
  return file && (pointer === '#/' || pointer === '#') ? file[1] : undefined;
}

/** The create-request schema and property a schema is, when it is a property of a `*Create*Request` component. */
function createRequestPropertyOf(ctx) {
  const pointer = ctx.location.pointer;
  const inDocument = /^#\/components\/schemas\/([^/]*Create[^/]*Request)\/properties\/([^/]+)$/.exec(pointer);
  if (inDocument) return inDocument[2];
  const file = /[/\\]components[/\\]schemas[/\\][^/\\]*Create[^/\\]*Request\.ya?ml$/.test(ctx.location.source.absoluteRef);
  const property = /^#\/properties\/([^/]+)$/.exec(pointer);
  return file && property ? property[1] : undefined;
}

const assertions = {
  /** `type` is one JSON type, or one type and 'null'. */
  oneJsonType: (value, _options, ctx) => {
    if (!Array.isArray(value)) return [];
    const types = value.filter((t) => t !== 'null');
    return types.length > 1 ? problem(`type ${JSON.stringify(value)} names ${types.length} non-null types`, ctx) : [];
  },
  /** An `enum` without null (a nullable enum is `oneOf: [{$ref: <enum>}, {type: 'null'}]`). */
  noNullMember: (value, _options, ctx) => (Array.isArray(value) && value.includes(null) ? problem('the enum lists null', ctx) : []),
  /** A `oneOf` whose branches are only `required` lists (generators encode it as `{}`): say it in the description and check it in the server. */
  notRequiredOnlyBranches: (value, _options, ctx) => {
    if (!Array.isArray(value) || value.length === 0) return [];
    const branches = value.map((branch) => (branch && typeof branch === 'object' && '$ref' in branch ? ctx.resolve(branch).node : branch));
    const requiredOnly = branches.every((b) => b && typeof b === 'object' && 'required' in b && Object.keys(b).every((k) => ['required', 'description', 'title'].includes(k)));
    return requiredOnly ? problem('every oneOf branch is only a required list', ctx) : [];
  },
  /** A component schema's `title` is its component name. */
  titleIsComponentName: (_keys, _options, ctx) => {
    const name = componentNameOf(ctx);
    if (name === undefined) return [];
    const title = ctx.node?.title;
    return title === name ? [] : problem(`component schema ${name} needs title: ${name}${title === undefined ? '' : ` (has ${JSON.stringify(title)})`}`, ctx);
  },
  /** A property of a create request is not nullable unless its description says what null means. */
  createFieldNotNullable: (_keys, _options, ctx) => {
    const property = createRequestPropertyOf(ctx);
    const node = ctx.node ?? {};
    if (property === undefined || !Array.isArray(node.type) || !node.type.includes('null')) return [];
    return /\bnull\b/i.test(node.description ?? '') ? [] : problem(`create-request property ${property} is nullable without a documented meaning of null`, ctx);
  },
};

export default function plugin() {
  return {
    id: 'licensing',
    decorators: { oas3: { 'inline-response-headers': inlineResponseHeaders } },
    assertions,
  };
}
