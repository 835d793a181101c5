import { connect } from 'node:net';
import { Ajv } from 'ajv';
import BetterSqlite3 from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { createCheckoutToken } from '../checkout-token.js';
import { prefersHtml } from '../docs.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { PaymentStore } from '../store/types.js';
import { registeredRoutes } from '../testing/routes.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';

const SECRET = 'sk_test_docs_0123456789abcdef';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** Routes that are deliberately not part of the public API description, besides the docs themselves. */
const UNDOCUMENTED = ['GET /', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v1/callbacks/{provider}/{token}', 'GET /stk-pay.js', 'GET /stk-pay.mjs'];

type Spec = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };

let relay: StartedRelay | undefined;
let store: PaymentStore | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  await store?.close();
  store = undefined;
});

/**
 * Ajv over the description. OpenAPI 3.0 writes an exclusive bound as a flag beside the bound
 * (`minimum: 0, exclusiveMinimum: true`); Ajv reads JSON Schema's `exclusiveMinimum: 0`.
 */
function ajvOver(spec: Spec): Ajv {
  const exclusiveBounds = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(exclusiveBounds);
    if (value === null || typeof value !== 'object') return value;
    const schema = Object.fromEntries(Object.entries(value).map(([key, child]) => [key, exclusiveBounds(child)]));
    for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
      if (typeof schema[flag] !== 'boolean') continue;
      if (schema[flag]) schema[flag] = schema[bound];
      else delete schema[flag];
      if (schema[flag] !== undefined) delete schema[bound];
    }
    return schema;
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(exclusiveBounds(spec) as object, 'openapi');
  return ajv;
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

/** A JSON pointer into the description, for Ajv. */
const pointer = (...parts: string[]) => `openapi#/${parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

interface StringSchema {
  maxLength?: number;
  pattern?: string;
}
interface BodySchema {
  properties: Record<string, StringSchema>;
  oneOf?: { not?: { required?: string[] }; required?: string[]; properties?: Record<string, StringSchema> }[];
}

/**
 * The most characters the description lets a body field hold, with a token or without: the
 * field's own limit and those of each form of the body that applies.
 */
function documentedMax(body: BodySchema, field: string, withToken: boolean): number {
  const forms = (body.oneOf ?? []).filter((form) => (withToken ? !form.not?.required?.includes('token') : !form.required?.includes('token')));
  const limits = [body.properties[field], ...forms.map((form) => form.properties?.[field])].map((schema) => schema?.maxLength ?? Infinity);
  return Math.min(...limits);
}

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
    // A store of the test's own, in memory, whose reads can be made to fail.
    store = await openSqliteStore(':memory:');
    relay = await startRelay({
      merchants: [demoMerchant(new SandboxProvider({ delayMs: 50 }), ['https://shop.example'], SECRET)],
      rateLimits: { perIp: 1_000, perKey: 6 },
      store,
    });
    const r = relay;
    const spec = r.app.swagger() as unknown as Spec;
    const ajv = ajvOver(spec);
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
    // Every Accept that admits the stream gets it, as an SSE-only route; one that refuses it gets
    // the relay's error body, as documented (not @fastify/sse's own 406).
    for (const accept of [undefined, '*/*', 'text/event-stream', 'text/*', 'application/json, */*;q=0.1', 'text/html,*/*;q=0.8']) {
      const admitted = await r.app.inject({ method: 'GET', url: `/v1/payments/${paid}/events`, headers: accept ? { accept } : {} });
      expect(admitted.statusCode, String(accept)).toBe(200);
      expect(admitted.headers['content-type'], String(accept)).toMatch(/^text\/event-stream/);
    }
    for (const accept of ['application/json', 'text/html', '*/*, text/event-stream;q=0', 'text/event-stream;q=0.0']) {
      const refused = conforms(400, 'get', '/v1/payments/{id}/events', await r.app.inject({ method: 'GET', url: `/v1/payments/${paid}/events`, headers: { accept } }));
      expect(refused.json(), accept).toEqual({ error: { code: 'invalid_request', message: 'This route answers text/event-stream only.', details: [{ field: 'accept', message: 'must admit text/event-stream' }] } });
    }
    // A header past its documented limit.
    conforms(400, 'get', '/v1/payments/{id}', await read(paid, { authorization: `Bearer ${'x'.repeat(300)}` }));
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

    // The store out of reach (a disk gone bad): every route that reads it answers 503.
    const ioError = () => Promise.reject(new BetterSqlite3.SqliteError('disk I/O error', 'SQLITE_IOERR'));
    Object.assign(store, { getPayment: ioError, listPayments: ioError });
    for (const unavailable of [
      conforms(503, 'get', '/v1/payments/{id}', await read(paid)),
      conforms(503, 'get', '/v1/payments/{id}', await read(paid, sk)),
      conforms(503, 'get', '/v1/payments', await r.app.inject({ method: 'GET', url: '/v1/payments', headers: sk })),
      conforms(503, 'get', '/v1/payments/{id}/events', await r.app.inject({ method: 'GET', url: `/v1/payments/${paid}/events` })),
    ]) {
      expect(unavailable.json().error.code).toBe('unavailable');
      expect(unavailable.headers['retry-after']).toBeDefined();
    }

    // Who may call what: the keys each operation takes, as the relay checks them.
    const security = (path: string, method: string) => (spec.paths[path]![method] as unknown as { security?: unknown }).security;
    expect(security('/v1/payments', 'post')).toEqual([{ publishableKey: [] }, {}]);
    expect(security('/v1/payments', 'get')).toEqual([{ secretKey: [] }]);
    expect(security('/v1/payments/{id}', 'get')).toEqual([{}, { secretKey: [] }]);
    expect(security('/v1/payments/{id}/events', 'get')).toEqual([{}]);

    const statuses = new Set(checked.map((entry) => entry.replace(/^.* /, '')));
    expect([...statuses].sort()).toEqual(['200', '201', '400', '401', '403', '404', '409', '413', '415', '429', '503']);
  });

  it('holds request fields to the limits it documents: a value at each limit is accepted, one just over it refused, naming the field', async () => {
    relay = await startRelay({
      merchants: [demoMerchant(new SandboxProvider({ delayMs: 50 }), [], SECRET)],
      rateLimits: { perIp: 1_000, perKey: 1_000 },
      abuseLimits: { openPromptMs: 0, duplicateWindowMs: 0 },
    });
    const r = relay;
    const spec = r.app.swagger() as unknown as Spec;
    const ajv = ajvOver(spec);
    const pk = { 'x-publishable-key': 'pk_test_demo' };

    for (const [path, status, base] of [
      ['/v1/checkout/terms', 200, { amount: 250 }],
      ['/v1/payments', 201, { amount: 250, phone: '0708374149' }],
    ] as const) {
      const bodyPointer = pointer('paths', path, 'post', 'requestBody', 'content', 'application/json', 'schema');
      const documented = ajv.getSchema(bodyPointer)!.schema as BodySchema;
      const validate = ajv.getSchema(bodyPointer)!;
      /** The description and the relay agree on a body: both take it, or both refuse it for `field`. */
      const agree = async (label: string, body: Record<string, unknown>, accepted: boolean, field: string) => {
        expect(validate(body), `${path} ${label}: the description ${accepted ? 'refuses' : 'takes'} it (${ajv.errorsText(validate.errors)})`).toBe(accepted);
        const response = await r.app.inject({ method: 'POST', url: path, headers: pk, payload: body });
        if (accepted) expect(response.statusCode, `${path} ${label}: ${response.body}`).toBe(status);
        else {
          expect(response.statusCode, `${path} ${label}`).toBe(400);
          expect(response.json().error.details?.[0]?.field, `${path} ${label}: ${response.body}`).toBe(field);
        }
      };
      const signed = (reference: string, description?: string) => ({
        ...base,
        reference,
        ...(description === undefined ? {} : { description }),
        token: createCheckoutToken({ merchant: 'demo', amount: 250, reference, ...(description === undefined ? {} : { description }) }, SECRET),
      });

      // Typed (no token): the limits a customer's text is held to.
      const reference = documentedMax(documented, 'reference', false);
      const description = documentedMax(documented, 'description', false);
      await agree(`reference of ${reference}`, { ...base, reference: 'R'.repeat(reference) }, true, 'reference');
      await agree(`reference of ${reference + 1}`, { ...base, reference: 'R'.repeat(reference + 1) }, false, 'reference');
      await agree('reference with @', { ...base, reference: 'INV@9' }, false, 'reference');
      await agree('reference of spaces', { ...base, reference: '   ' }, false, 'reference');
      await agree(`description of ${description}`, { ...base, description: 'd'.repeat(description) }, true, 'description');
      await agree(`description of ${description + 1}`, { ...base, description: 'd'.repeat(description + 1) }, false, 'description');
      await agree('description with a control character', { ...base, description: 'Flour\u0001' }, false, 'description');
      // Signed (a checkout token): the merchant's text, past the typed limits.
      await agree(`signed reference of ${reference + 1} with @`, signed(`INV@${'R'.repeat(reference)}`), true, 'reference');
      await agree(`signed description of ${description + 1}`, signed('INV-9', 'd'.repeat(description + 1)), true, 'description');
      const signedMax = documentedMax(documented, 'reference', true);
      await agree(`signed reference of ${signedMax + 1}`, { ...signed('INV-9'), reference: 'R'.repeat(signedMax + 1) }, false, 'reference');
      await agree(`signed description of ${documentedMax(documented, 'description', true) + 1}`, { ...signed('INV-9'), description: 'd'.repeat(documentedMax(documented, 'description', true) + 1) }, false, 'description');
      // The other fields, just over their limits (at them, a token or key is refused for what it says).
      for (const field of ['token', 'publishableKey', ...('phone' in base ? ['phone'] : [])]) {
        await agree(`${field} of ${documentedMax(documented, field, false) + 1}`, { ...base, [field]: '1'.repeat(documentedMax(documented, field, false) + 1) }, false, field);
      }
      if ('phone' in base) await agree('phone of 32', { ...base, phone: base.phone.padEnd(documentedMax(documented, 'phone', false)) }, true, 'phone');
    }

    // The list's reference: any plain text a payment can hold.
    const parameters = (spec.paths['/v1/payments']!['get'] as unknown as { parameters: { name: string }[] }).parameters;
    const validate = ajv.getSchema(pointer('paths', '/v1/payments', 'get', 'parameters', String(parameters.findIndex((parameter) => parameter.name === 'reference')), 'schema'))!;
    const max = (validate.schema as StringSchema).maxLength!;
    for (const [value, accepted] of [['R'.repeat(max), true], ['R'.repeat(max + 1), false], ['INV\u0001', false], ['INV@9 x', true]] as const) {
      expect(validate(value), `list reference ${value.slice(0, 10)}… of ${value.length}`).toBe(accepted);
      const response = await r.app.inject({ method: 'GET', url: `/v1/payments?reference=${encodeURIComponent(value)}`, headers: { authorization: `Bearer ${SECRET}` } });
      expect(response.statusCode, response.body).toBe(accepted ? 200 : 400);
      if (!accepted) expect(response.json().error.details[0].field).toBe('querystring.reference');
    }
  });

  it('documents the 408 the relay answers to a body that does not arrive in time', async () => {
    relay = await startRelay({ requestTimeoutMs: 300 });
    const spec = relay.app.swagger() as unknown as Spec;
    const ajv = ajvOver(spec);
    const socket = connect(Number(new URL(relay.url).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve).on('error', () => undefined));
    socket.write('POST /v1/checkout/terms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Publishable-Key: pk_test_demo\r\nContent-Length: 100\r\n\r\n{"amount":');
    await closed;
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    for (const path of ['/v1/checkout/terms', '/v1/payments']) {
      expect(spec.paths[path]!['post']!.responses['408'], path).toBeDefined();
      const validate = ajv.getSchema(pointer('paths', path, 'post', 'responses', '408', 'content', 'application/json', 'schema'))!;
      expect(validate(JSON.parse(body)), ajv.errorsText(validate.errors)).toBe(true);
    }
    // Routes without a body time out before they have a route: no 408 is promised there.
    expect(spec.paths['/v1/payments/{id}']!['get']!.responses['408']).toBeUndefined();
  });
});
