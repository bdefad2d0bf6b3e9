// Redocly plugin (redocly.yaml): response headers inline in the bundle (no `$ref: '#/components/headers/...'`).
// Some clients' validators (Perl's OpenAPI::Client) cannot resolve `components/headers` refs, so the
// header files in openapi/components/headers/ stay the source and every response gets a copy.
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

export default function plugin() {
  return {
    id: 'licensing',
    decorators: { oas3: { 'inline-response-headers': inlineResponseHeaders } },
  };
}
