/**
 * Consumer contract of the service endpoints (`getServiceIndex`, `getFavicon`, `getHealth`, `getReadiness`, `getOpenApiJson`,
 * `getOpenApiYaml`, `getOpenApi30Json`, `getOpenApi30Yaml`, `getDocs`): the real client against the Pact mock server, one success and one documented
 * error interaction per operation.
 */
import { MatchersV3 } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../../client/index.js';
import { jsonResponseHeaders, patterns, webApiError } from '../support/matchers.js';
import { states } from '../support/provider-states.js';
import { clientFor, createPact, expectApiError } from './pact.js';

const { like, regex } = MatchersV3;

describe('service endpoints (consumer)', () => {
  const pact = createPact();

  it('getServiceIndex: 200 with the links of the service', async () => {
    const { name, params } = states.serviceRunning();
    const index = {
      name: like('Metered Licensing API'),
      version: like('0.1.0'),
      documentation: '/docs',
      openapi: { json: '/openapi.json', yaml: '/openapi.yaml', json_3_0: '/openapi-3.0.json', yaml_3_0: '/openapi-3.0.yaml' },
      health: '/healthz',
      readiness: '/readyz',
      apis: [
        { name: 'Management API v1', base_path: '/api/v1' },
        { name: 'License API v4', base_path: '/api/v4' },
        { name: 'Web API v3', base_path: '/v3' },
      ],
    };
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getServiceIndex: the root of the server')
      .withRequest('GET', '/')
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody(index))
      .executeTest(async (mock) => {
        const body = unwrap(await clientFor(mock.url).GET('/'));
        expect(body).toMatchObject({ documentation: '/docs', openapi: { json: '/openapi.json' } });
        expect(body.apis.map((api) => api.base_path)).toEqual(['/api/v1', '/api/v4', '/v3']);
      });
  });

  for (const [op, path] of [['getServiceIndex', '/'], ['getFavicon', '/favicon.ico']] as const) {
    it(`${op}: 400 VALIDATION_FAILED for an undocumented query parameter`, async () => {
      const { name, params } = states.serviceRunning();
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(`${op}: a request with an undocumented query parameter`)
        .withRequest('GET', path, (req) => req.query({ x: '1' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('VALIDATION_FAILED', 'Unknown query parameter x')))
        .executeTest(async (mock) => {
          // @ts-expect-error the operation documents no query parameters: that is the point of this interaction
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET(path, { params: { query: { x: '1' } } })));
          expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', dialect: 'service' });
        });
    });
  }

  it('getFavicon: 204, no icon', async () => {
    const { name, params } = states.serviceRunning();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getFavicon: a browser asking for the icon')
      .withRequest('GET', '/favicon.ico')
      .willRespondWith(204)
      .executeTest(async (mock) => {
        const res = await clientFor(mock.url).GET('/favicon.ico');
        expect(res.response.status).toBe(204);
      });
  });

  it('getHealth: 200 while the process is up', async () => {
    const { name, params } = states.serviceRunning();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getHealth: a liveness probe')
      .withRequest('GET', '/healthz')
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ status: 'ok' }))
      .executeTest(async (mock) => {
        expect(unwrap(await clientFor(mock.url).GET('/healthz'))).toEqual({ status: 'ok' });
      });
  });

  it('getHealth: 400 VALIDATION_FAILED for an undocumented query parameter', async () => {
    const { name, params } = states.serviceRunning();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getHealth: a probe with an undocumented query parameter')
      .withRequest('GET', '/healthz', (req) => req.query({ verbose: 'true' }))
      .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('VALIDATION_FAILED', 'Unknown query parameter verbose')))
      .executeTest(async (mock) => {
        // @ts-expect-error the operation documents no query parameters: that is the point of this interaction
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/healthz', { params: { query: { verbose: 'true' } } })));
        expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', dialect: 'service' });
      });
  });

  it('getReadiness: 200 when the database answers', async () => {
    const { name, params } = states.databaseReachable();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getReadiness: a readiness probe with the database up')
      .withRequest('GET', '/readyz')
      .willRespondWith(200, (res) => res.headers(jsonResponseHeaders()).jsonBody({ status: 'ok' }))
      .executeTest(async (mock) => {
        expect(unwrap(await clientFor(mock.url).GET('/readyz'))).toEqual({ status: 'ok' });
      });
  });

  it('getReadiness: 503 SERVICE_UNAVAILABLE when the database is unreachable', async () => {
    const { name, params } = states.databaseUnreachable();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getReadiness: a readiness probe with the database down')
      .withRequest('GET', '/readyz')
      .willRespondWith(503, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('SERVICE_UNAVAILABLE', 'The database is unreachable')))
      .executeTest(async (mock) => {
        const result = await clientFor(mock.url).GET('/readyz');
        expect(result.response.ok).toBe(false);
        expect(result.error).toEqual({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unreachable' });
        const err = await expectApiError(async () => unwrap(result));
        expect(err).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      });
  });

  // The contract (OpenAPI 3.1) and its 3.0.3 rendition, each as JSON and as YAML.
  const documents = [
    { jsonOp: 'getOpenApiJson', yamlOp: 'getOpenApiYaml', jsonPath: '/openapi.json', yamlPath: '/openapi.yaml', title: 'the bundled OpenAPI 3.1 document', what: 'the contract', version: '3.1.0' },
    { jsonOp: 'getOpenApi30Json', yamlOp: 'getOpenApi30Yaml', jsonPath: '/openapi-3.0.json', yamlPath: '/openapi-3.0.yaml', title: 'the OpenAPI 3.0.3 rendition', what: 'the 3.0.3 rendition', version: '3.0.3' },
  ] as const;
  for (const { jsonOp, yamlOp, jsonPath, yamlPath, title, what, version } of documents) {
    /** The version's pattern (`3\.1\.\d+`) as regex source. */
    const versionPattern = `${version.split('.').slice(0, 2).join('\\.')}\\.\\d+`;

    it(`${jsonOp}: ${title}`, async () => {
      const { name, params } = states.serviceRunning();
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(`${jsonOp}: ${what} as JSON`)
        .withRequest('GET', jsonPath)
        .willRespondWith(200, (res) =>
          res.headers(jsonResponseHeaders()).jsonBody({
            openapi: regex(`^${versionPattern}$`, version),
            info: { title: like('Metered Licensing API'), version: like('0.1.0') },
            paths: like({ '/healthz': {} }),
          }),
        )
        .executeTest(async (mock) => {
          const doc = unwrap(await clientFor(mock.url).GET(jsonPath));
          expect(doc.openapi).toMatch(new RegExp(`^${versionPattern}$`));
          expect(doc.info).toMatchObject({ title: 'Metered Licensing API' });
        });
    });

    it(`${jsonOp}: 400 VALIDATION_FAILED for an undocumented query parameter`, async () => {
      const { name, params } = states.serviceRunning();
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(`${jsonOp}: a request with an undocumented query parameter`)
        .withRequest('GET', jsonPath, (req) => req.query({ format: 'compact' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('VALIDATION_FAILED', 'Unknown query parameter format')))
        .executeTest(async (mock) => {
          // @ts-expect-error the operation documents no query parameters: that is the point of this interaction
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET(jsonPath, { params: { query: { format: 'compact' } } })));
          expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
        });
    });

    it(`${yamlOp}: ${title} as YAML text`, async () => {
      const { name, params } = states.serviceRunning();
      const example = `openapi: ${version}\ninfo:\n  title: Metered Licensing API\n`;
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(`${yamlOp}: ${what} as YAML`)
        .withRequest('GET', yamlPath)
        .willRespondWith(200, (res) =>
          res
            .headers({ 'Content-Type': regex(patterns.yamlContentType, 'application/yaml; charset=utf-8') })
            // Pact stores non-JSON bodies as binary and checks their sniffed type, which for YAML is
            // text/plain; the Content-Type header above pins application/yaml, the rule below the text.
            .body('text/plain', Buffer.from(example))
            .matchingRules({ body: { path: '$', rules: [regex(`^openapi: ${versionPattern}\\n(.|\\n)*$`, example)] } }),
        )
        .executeTest(async (mock) => {
          const text = unwrap(await clientFor(mock.url).GET(yamlPath, { parseAs: 'text' }));
          expect(text).toMatch(new RegExp(`^openapi: ${versionPattern}\\n`));
        });
    });

    it(`${yamlOp}: 400 VALIDATION_FAILED for an undocumented query parameter`, async () => {
      const { name, params } = states.serviceRunning();
      await pact
        .addInteraction()
        .given(name, params)
        .uponReceiving(`${yamlOp}: a request with an undocumented query parameter`)
        .withRequest('GET', yamlPath, (req) => req.query({ format: 'compact' }))
        .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('VALIDATION_FAILED', 'Unknown query parameter format')))
        .executeTest(async (mock) => {
          // @ts-expect-error the operation documents no query parameters: that is the point of this interaction
          const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET(yamlPath, { params: { query: { format: 'compact' } }, parseAs: 'text' })));
          expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
        });
    });
  }

  it('getDocs: the documentation page as HTML', async () => {
    const { name, params } = states.serviceRunning();
    const example = '<!DOCTYPE html>\n<html lang="en">\n<head><title>Metered Licensing API</title></head>\n';
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getDocs: the documentation page')
      .withRequest('GET', '/docs')
      .willRespondWith(200, (res) =>
        res
          .headers({ 'Content-Type': regex(patterns.htmlContentType, 'text/html; charset=utf-8') })
          .body('text/html', Buffer.from(example))
          .matchingRules({ body: { path: '$', rules: [regex('^<!DOCTYPE html>\\s*<html[\\s\\S]*$', example)] } }),
      )
      .executeTest(async (mock) => {
        const html = unwrap(await clientFor(mock.url).GET('/docs', { parseAs: 'text' }));
        expect(html).toMatch(/^<!DOCTYPE html>\s*<html/);
      });
  });

  it('getDocs: 400 VALIDATION_FAILED for an undocumented query parameter', async () => {
    const { name, params } = states.serviceRunning();
    await pact
      .addInteraction()
      .given(name, params)
      .uponReceiving('getDocs: a request with an undocumented query parameter')
      .withRequest('GET', '/docs', (req) => req.query({ theme: 'dark' }))
      .willRespondWith(400, (res) => res.headers(jsonResponseHeaders()).jsonBody(webApiError('VALIDATION_FAILED', 'Unknown query parameter theme')))
      .executeTest(async (mock) => {
        // @ts-expect-error the operation documents no query parameters: that is the point of this interaction
        const err = await expectApiError(async () => unwrap(await clientFor(mock.url).GET('/docs', { params: { query: { theme: 'dark' } }, parseAs: 'text' })));
        expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      });
  });
});
