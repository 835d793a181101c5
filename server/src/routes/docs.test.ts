import { Ajv } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { prefersHtml } from '../docs.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { registeredRoutes } from '../testing/routes.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';

const SECRET = 'sk_test_docs_0123456789abcdef';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** Routes that are deliberately not part of the public API description, besides the docs themselves. */
const UNDOCUMENTED = ['GET /', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v1/callbacks/{provider}/{token}', 'GET /stk-pay.js', 'GET /stk-pay.mjs'];

type Spec = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

describe('GET /docs', () => {
  it('answers programs with the OpenAPI JSON: no Accept header, JSON, any type, and at /docs/json', async () => {
    relay = await startRelay();
    const spec = relay.app.swagger();
    for (const accept of [undefined, 'application/json', '*/*', 'application/json, text/html;q=0.5']) {
      const response = await relay.app.inject({ method: 'GET', url: '/docs', headers: accept ? { accept } : {} });
      expect(response.statusCode, String(accept)).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['vary']).toMatch(/accept/i);
      expect(response.json()).toEqual(spec);
    }
    expect((await relay.app.inject({ method: 'GET', url: '/docs/json' })).json()).toEqual(spec);
  });

  it("shows a browser Swagger UI, served from the package's own files and nothing from elsewhere", async () => {
    relay = await startRelay();
    const page = await relay.app.inject({ method: 'GET', url: '/docs', headers: { accept: BROWSER_ACCEPT } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="swagger-ui">');
    expect(page.body).not.toMatch(/(https?:)?\/\/[a-z]/i);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toContain('/docs/static/swagger-ui-bundle.js');
    for (const asset of assets) expect((await relay.app.inject({ method: 'GET', url: asset })).statusCode, asset).toBe(200);
    // The UI loads the description from the relay itself.
    const initializer = (await relay.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })).body;
    expect(initializer).toContain("resolveUrl('./json')");
    expect(initializer).toContain('validatorUrl: null');
  });

  it('ranks HTML against JSON by the quality of the most specific range', () => {
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml('text/html')).toBe(true);
    expect(prefersHtml(BROWSER_ACCEPT)).toBe(true);
    expect(prefersHtml('application/json;q=0.9, text/html')).toBe(true);
    expect(prefersHtml('text/html;q=0.5, application/json')).toBe(false);
    expect(prefersHtml('text/*, application/json;q=0.2')).toBe(true);
  });
});

describe('the OpenAPI description against the real relay', () => {
  it('lists every route the relay serves, with the same methods, except the deliberately undocumented ones, and nothing else', async () => {
    relay = await startRelay();
    const spec = relay.app.swagger() as unknown as Spec;
    const served = registeredRoutes(relay.app)
      .map((route) => `${route.method} ${openApiPath(route.url)}`)
      .filter((route) => !route.split(' ')[1]!.startsWith('/docs'));
    const documented = Object.entries(spec.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(served.filter((route) => !UNDOCUMENTED.includes(route)).sort()).toEqual([...documented].sort());
    expect(served).toEqual(expect.arrayContaining(UNDOCUMENTED));
    for (const route of documented) {
      const [method, path] = route.split(' ') as [string, string];
      expect(relay.app.hasRoute({ method: method as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }), route).toBe(true);
    }
  });

  it('describes the real answers of a payment flow: each status is documented and each body matches its schema', async () => {
    relay = await startRelay({
      merchants: [demoMerchant(new SandboxProvider({ delayMs: 50 }), ['https://shop.example'], SECRET)],
      rateLimits: { perIp: 1_000, perKey: 6 },
    });
    const r = relay;
    const spec = r.app.swagger() as unknown as Spec;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema(spec, 'openapi');
    const checked: string[] = [];
    const conforms = (status: number, method: string, path: string, response: LightMyRequestResponse) => {
      expect(response.statusCode, `${method} ${path}: ${response.body}`).toBe(status);
      const documented = spec.paths[path]?.[method]?.responses[String(response.statusCode)];
      expect(documented, `${method} ${path} ${response.statusCode} is documented`).toBeDefined();
      const pointer = ['paths', path, method, 'responses', String(response.statusCode), 'content', 'application/json', 'schema'].map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
      const validate = ajv.getSchema(`openapi#/${pointer}`)!;
      expect(validate(response.json()), `${method} ${path} ${response.statusCode}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      checked.push(`${method} ${path} ${response.statusCode}`);
      return response;
    };
    const pk = { 'x-publishable-key': 'pk_test_demo' };
    const sk = { authorization: `Bearer ${SECRET}` };
    const create = (payload: Record<string, unknown>, headers: Record<string, string> = pk) => r.app.inject({ method: 'POST', url: '/v1/payments', headers, payload });
    const read = (id: string, headers: Record<string, string> = {}) => r.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers });

    const paid = conforms(201, 'post', '/v1/payments', await create({ amount: 250, phone: '0708374149', reference: 'INV-9', description: 'Flour' }, { ...pk, 'idempotency-key': 'docs-flow-0001' })).json().id as string;
    const cancelled = conforms(201, 'post', '/v1/payments', await create({ amount: 100, phone: '0700000001' })).json().id as string;
    conforms(200, 'get', '/v1/payments/{id}', await read(paid));
    await until(async () => (await r.app.store.getPayment(paid))?.status === 'succeeded' && (await r.app.store.getPayment(cancelled))?.status === 'failed', 'payments final');
    for (const id of [paid, cancelled]) {
      conforms(200, 'get', '/v1/payments/{id}', await read(id));
      conforms(200, 'get', '/v1/payments/{id}', await read(id, sk));
    }
    conforms(200, 'get', '/v1/payments', await r.app.inject({ method: 'GET', url: '/v1/payments?limit=1', headers: sk }));
    conforms(200, 'get', '/v1/payments', await r.app.inject({ method: 'GET', url: '/v1/payments?status=failed', headers: sk }));
    conforms(200, 'post', '/v1/checkout/terms', await r.app.inject({ method: 'POST', url: '/v1/checkout/terms', headers: pk, payload: { amount: 250, reference: 'INV-9' } }));

    conforms(400, 'post', '/v1/payments', await create({ amount: 250, phone: '12' }));
    conforms(401, 'post', '/v1/payments', await create({ amount: 250, phone: '0708374149' }, { 'x-publishable-key': 'pk_test_nobody' }));
    conforms(403, 'post', '/v1/payments', await create({ amount: 250, phone: '0708374149' }, { ...pk, origin: 'https://evil.example' }));
    conforms(409, 'post', '/v1/payments', await create({ amount: 999, phone: '0708374149', reference: 'INV-9', description: 'Flour' }, { ...pk, 'idempotency-key': 'docs-flow-0001' }));
    conforms(400, 'post', '/v1/checkout/terms', await r.app.inject({ method: 'POST', url: '/v1/checkout/terms', headers: pk, payload: { amount: 0 } }));
    conforms(413, 'post', '/v1/payments', await create({ amount: 250, phone: '0708374149', description: 'x'.repeat(20_000) }));
    conforms(415, 'post', '/v1/payments', await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...pk, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'amount=250' }));
    conforms(415, 'post', '/v1/checkout/terms', await r.app.inject({ method: 'POST', url: '/v1/checkout/terms', headers: { ...pk, 'content-type': 'text/plain' }, payload: '{"amount":250}' }));
    expect((spec.paths['/v1/checkout/terms']!['post'] as unknown as { parameters?: { name: string }[] }).parameters?.map((parameter) => parameter.name)).not.toContain('idempotency-key');
    conforms(404, 'get', '/v1/payments/{id}', await read('pay_nosuchpayment0000000000'));
    conforms(404, 'get', '/v1/payments/{id}/events', await r.app.inject({ method: 'GET', url: '/v1/payments/pay_nosuchpayment0000000000/events' }));
    // The stream answers with the media type its description names.
    const stream = await r.app.inject({ method: 'GET', url: `/v1/payments/${paid}/events` });
    expect(stream.statusCode).toBe(200);
    expect(Object.keys(spec.paths['/v1/payments/{id}/events']!['get']!.responses['200']!.content!)).toEqual([String(stream.headers['content-type']).split(';')[0]]);
    conforms(401, 'get', '/v1/payments/{id}', await read(paid, { authorization: 'Bearer sk_test_wrong' }));
    conforms(401, 'get', '/v1/payments', await r.app.inject({ method: 'GET', url: '/v1/payments' }));
    conforms(400, 'get', '/v1/payments', await r.app.inject({ method: 'GET', url: '/v1/payments?cursor=nonsense', headers: sk }));
    let limited: LightMyRequestResponse | undefined;
    for (let i = 0; i < 10 && limited === undefined; i++) {
      const response = await create({ amount: 10, phone: '0708374149' });
      if (response.statusCode === 429) limited = response;
    }
    expect(limited?.headers['retry-after']).toBeDefined();
    conforms(429, 'post', '/v1/payments', limited!);

    // Who may call what: the keys each operation takes, as the relay checks them.
    const security = (path: string, method: string) => (spec.paths[path]![method] as unknown as { security?: unknown }).security;
    expect(security('/v1/payments', 'post')).toEqual([{ publishableKey: [] }, {}]);
    expect(security('/v1/payments', 'get')).toEqual([{ secretKey: [] }]);
    expect(security('/v1/payments/{id}', 'get')).toEqual([{}, { secretKey: [] }]);
    expect(security('/v1/payments/{id}/events', 'get')).toEqual([{}]);

    const statuses = new Set(checked.map((entry) => entry.replace(/^.* /, '')));
    expect([...statuses].sort()).toEqual(['200', '201', '400', '401', '403', '404', '409', '413', '415', '429']);
  });
});
