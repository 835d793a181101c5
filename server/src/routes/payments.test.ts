import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { countRows } from '../testing/count-db.js';
import { CountingSandbox } from '../testing/counting-sandbox.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';

let relay: StartedRelay;
let sandbox: CountingSandbox;

beforeEach(async () => {
  sandbox = new CountingSandbox({ delayMs: 200 });
  relay = await startRelay({ merchants: [demoMerchant(sandbox, ['https://shop.example'])] });
});
afterEach(async () => {
  await relay.close();
});

const json = { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' };

function create(body: unknown, headers: Record<string, string> = {}) {
  return relay.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...json, ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /v1/payments', () => {
  it('creates a payment, masks the phone and sends one prompt', async () => {
    const response = await create({ amount: 250, phone: '0708 374 149', reference: 'INV-9' });
    expect(response.statusCode).toBe(201);
    const payment = response.json();
    expect(payment).toMatchObject({ status: 'pending', amount: 250, currency: 'KES', reference: 'INV-9', phone: '2547•••••149', provider: 'sandbox', seq: 1 });
    expect(payment.id).toMatch(/^pay_[0-9a-z]{9}[A-Za-z0-9]{24}$/);
    expect(JSON.stringify(payment)).not.toContain('708374149');
    await relay.app.payments.settle();
    expect(sandbox.pushes).toHaveLength(1);
    expect(sandbox.pushes[0]).toMatchObject({ phone: '254708374149', amount: 250, reference: 'INV-9' });
  });

  it('returns the same payment for a repeated Idempotency-Key and body, without a second prompt', async () => {
    const key = { 'idempotency-key': 'attempt-0001-abc' };
    const first = await create({ amount: 250, phone: '0708374149' }, key);
    const second = await create({ amount: 250, phone: '0708374149' }, key);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    await relay.app.payments.settle();
    expect(sandbox.pushes).toHaveLength(1);
    expect(countRows(relay.dbPath, 'payments')).toBe(1);
  });

  it('sends one prompt when the same key arrives twice at once (double click)', async () => {
    const key = { 'idempotency-key': 'attempt-0002-abc' };
    const responses = await Promise.all([1, 2, 3].map(() => create({ amount: 250, phone: '0708374149' }, key)));
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    await relay.app.payments.settle();
    expect(sandbox.pushes).toHaveLength(1);
  });

  it('refuses a reused Idempotency-Key with another body (409)', async () => {
    const key = { 'idempotency-key': 'attempt-0003-abc' };
    await create({ amount: 250, phone: '0708374149' }, key);
    const conflict = await create({ amount: 300, phone: '0708374149' }, key);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('idempotency_conflict');
    await relay.app.payments.settle();
    expect(sandbox.pushes).toHaveLength(1);
  });

  it('refuses a missing or unknown publishable key (401)', async () => {
    expect((await create({ amount: 250, phone: '0708374149' }, { 'x-publishable-key': 'pk_test_nobody' })).statusCode).toBe(401);
    const noKey = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'content-type': 'application/json' }, payload: { amount: 250, phone: '0708374149' } });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.json().error.code).toBe('unauthorized');
  });

  it('accepts the key in the body too', async () => {
    const response = await relay.app.inject({
      method: 'POST',
      url: '/v1/payments',
      headers: { 'content-type': 'application/json' },
      payload: { amount: 250, phone: '0708374149', publishableKey: 'pk_test_demo' },
    });
    expect(response.statusCode).toBe(201);
  });

  it('refuses a browser on an origin the merchant does not allow (403), accepts an allowed one and its own pages', async () => {
    const evil = await create({ amount: 250, phone: '0708374149' }, { origin: 'https://evil.example' });
    expect(evil.statusCode).toBe(403);
    expect(evil.json().error.code).toBe('forbidden_origin');
    expect((await create({ amount: 250, phone: '0708374149' }, { origin: 'https://shop.example' })).statusCode).toBe(201);
    const own = await create({ amount: 250, phone: '0708374149' }, { origin: 'http://localhost:80', host: 'localhost:80' });
    expect(own.statusCode).toBe(201);
  });

  it("lets a browser on a site the merchant does not allow read the 403 that says so (CORS on creating a payment), and nothing else of the relay's", async () => {
    const preflight = (origin: string, method = 'POST') =>
      relay.app.inject({
        method: 'OPTIONS',
        url: '/v1/payments',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type,x-publishable-key,idempotency-key' },
      });
    expect((await preflight('https://shop.example')).headers['access-control-allow-origin']).toBe('https://shop.example');
    expect((await preflight('https://evil.example')).headers['access-control-allow-origin']).toBe('https://evil.example');
    const refused = await create({ amount: 250, phone: '0708374149' }, { origin: 'https://evil.example' });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBe('https://evil.example');
    // A payment's status, its stream and the merchant's list stay readable from allowed sites only.
    const id = (await create({ amount: 250, phone: '0708374149' }, { origin: 'https://shop.example' })).json().id as string;
    for (const url of [`/v1/payments/${id}`, '/v1/payments']) {
      const answer = await relay.app.inject({ method: 'GET', url, headers: { origin: 'https://evil.example' } });
      expect(answer.headers['access-control-allow-origin'], url).toBeUndefined();
    }
    expect((await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: { origin: 'https://shop.example' } })).headers['access-control-allow-origin']).toBe('https://shop.example');
  });
});

describe('bad input gets a 4xx naming the field, and nothing is stored', () => {
  const cases: [string, unknown, number, string | undefined][] = [
    ['malformed JSON', '{"amount": 250, "phone": ', 400, undefined],
    ['an empty body', '', 400, undefined],
    ['a JSON array', '[1,2]', 400, undefined],
    ['a missing amount', { phone: '0708374149' }, 400, 'amount'],
    ['a missing phone', { amount: 250 }, 400, 'phone'],
    ['an unknown field', { amount: 250, phone: '0708374149', currency: 'USD' }, 400, 'currency'],
    ['amount 0', { amount: 0, phone: '0708374149' }, 400, 'amount'],
    ['a negative amount', { amount: -5, phone: '0708374149' }, 400, 'amount'],
    ['a fractional amount', { amount: 10.5, phone: '0708374149' }, 400, 'amount'],
    ['an amount over the cap', { amount: 150_001, phone: '0708374149' }, 400, 'amount'],
    ['an amount as a string', { amount: '250', phone: '0708374149' }, 400, 'amount'],
    ['an amount that is not a number', { amount: 'lots', phone: '0708374149' }, 400, 'amount'],
    ['an amount of Infinity-like size', { amount: 1e308, phone: '0708374149' }, 400, 'amount'],
    ['a foreign phone number', { amount: 250, phone: '+44 7911 123456' }, 400, 'phone'],
    ['a landline', { amount: 250, phone: '020 123 4567' }, 400, 'phone'],
    ['a phone with letters', { amount: 250, phone: '07O8374149' }, 400, 'phone'],
    ['a short phone', { amount: 250, phone: '0708' }, 400, 'phone'],
    ['a phone that is a number', { amount: 250, phone: 708374149 }, 400, 'phone'],
    ['a reference with markup', { amount: 250, phone: '0708374149', reference: '<script>' }, 400, 'reference'],
    ['a reference too long', { amount: 250, phone: '0708374149', reference: 'x'.repeat(65) }, 400, 'reference'],
  ];

  it.each(cases)('%s', async (_name, body, status, field) => {
    const response = await create(body);
    expect(response.statusCode).toBe(status);
    const error = response.json().error;
    expect(error.code).toBe('invalid_request');
    expect(typeof error.message).toBe('string');
    if (field) expect(error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(countRows(relay.dbPath, 'payments')).toBe(0);
  });

  it('an amount past what a payment can hold is called too large, not cents; cents are still called cents', async () => {
    for (const [amount, message] of [
      [1e21, 'must be at most 2147483647'],
      [9007199254740993, 'must be at most 2147483647'],
      [2 ** 31, 'must be at most 2147483647'],
      [250.5, 'must be whole shillings (no cents)'],
    ] as const) {
      const response = await create({ amount, phone: '0708374149' });
      expect(response.statusCode, String(amount)).toBe(400);
      expect(response.json().error.details, String(amount)).toEqual([{ field: 'amount', message }]);
    }
    expect(countRows(relay.dbPath, 'payments')).toBe(0);
  });

  it('a body over the limit gets 413', async () => {
    const response = await create({ amount: 250, phone: '0708374149', description: 'x'.repeat(40_000) });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('payload_too_large');
    expect(countRows(relay.dbPath, 'payments')).toBe(0);
  });

  it('a body that is not JSON gets 415, a form or plain text alike (even plain text that reads as JSON)', async () => {
    const response = await create('amount=250', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.statusCode).toBe(415);
    const text = await create(JSON.stringify({ amount: 250, phone: '0708374149' }), { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
    expect(countRows(relay.dbPath, 'payments')).toBe(0);
  });

  it('a malformed Idempotency-Key gets 400 naming the header', async () => {
    const response = await create({ amount: 250, phone: '0708374149' }, { 'idempotency-key': 'short' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details[0].field).toBe('headers.idempotency-key');
  });

  it('a JSON prototype-pollution attempt is refused, naming the key rather than calling the JSON invalid', async () => {
    for (const body of ['{"amount":250,"phone":"0708374149","__proto__":{"admin":true}}', '{"amount":250,"phone":"0708374149","constructor":{"prototype":{"admin":true}}}']) {
      const response = await create(body);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.details).toEqual([{ field: 'body', message: 'must not have a __proto__ or constructor key' }]);
    }
    expect(countRows(relay.dbPath, 'payments')).toBe(0);
  });
});

describe('GET /v1/payments/:id', () => {
  it('returns the payment now', async () => {
    const created = (await create({ amount: 250, phone: '0708374149' })).json();
    const response = await relay.app.inject({ method: 'GET', url: `/v1/payments/${created.id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: created.id, amount: 250 });
  });

  it('answers 404 with the field for an unknown or malformed id', async () => {
    for (const id of ['pay_AAAAAAAAAAAAAAAAAAAAAAAA', 'nonsense', '%27%20or%201%3D1']) {
      const response = await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}` });
      expect(response.statusCode).toBe(404);
      expect(response.json().error).toMatchObject({ code: 'not_found', details: [{ field: 'id' }] });
    }
  });

  it('answers unknown routes with the error JSON', async () => {
    const response = await relay.app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('not_found');
  });

  it('answers a malformed % escape in the URL, and a request Node cannot read as HTTP, with the error JSON too', async () => {
    const badUrl = await fetch(`${relay.url}/v1/payments/%D8%00`);
    expect(badUrl.status).toBe(400);
    expect(((await badUrl.json()) as { error: unknown }).error).toMatchObject({ code: 'invalid_request', details: [{ field: 'url', message: 'is not a valid URL (a malformed % escape)' }] });
    // Over a raw socket: an unknown method, and a header block too large.
    for (const [request, status, code] of [
      ['FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid_request'],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ] as const) {
      const answer = await rawRequest(relay.url, request);
      expect(answer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe(code);
    }
  });
});

/** Sends raw bytes and reads everything the server answers until it closes the connection. */
function rawRequest(url: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}
