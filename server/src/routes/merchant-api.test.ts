import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { createCheckoutToken } from '../checkout-token.js';
import type { Merchant } from '../merchants.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { countRows } from '../testing/count-db.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';

const SHOP_SECRET = 'sk_test_shop_0123456789abcdef';
const DEMO_SECRET = 'sk_test_demo_0123456789abcdef';
let relay: StartedRelay;

const shop: Merchant = {
  id: 'shop',
  name: 'Token shop',
  publishableKeys: ['pk_test_shop0001'],
  secretKeys: [SHOP_SECRET],
  allowedOrigins: ['https://shop.example'],
  provider: new SandboxProvider({ delayMs: 100 }),
  amount: { min: 10, max: 5_000, allowed: [250, 500], requireToken: true },
};

beforeAll(async () => {
  relay = await startRelay({ merchants: [demoMerchant(new SandboxProvider({ delayMs: 100 }), [], DEMO_SECRET), shop] });
});
afterAll(async () => relay.close());

function pay(key: string, body: Record<string, unknown>) {
  return relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': key }, payload: body });
}

describe('checkout tokens through the API', () => {
  it('pays the amount the merchant signed', async () => {
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9', description: 'Flour' }, SHOP_SECRET);
    const response = await pay('pk_test_shop0001', { amount: 250, phone: '0708374149', token });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ amount: 250, reference: 'INV-9', description: 'Flour' });
  });

  it('answers a retry (same Idempotency-Key, same token) with the payment it made even after the token has expired, and a new request with the expired token is refused', async () => {
    // Expiry is in whole seconds: this token expires between 1 and 2 s from now.
    const token = createCheckoutToken({ merchant: 'shop', amount: 500, reference: 'INV-EXP', expiresInSeconds: 3, now: new Date(Date.now() - 1_000) }, SHOP_SECRET);
    const headers = { 'x-publishable-key': 'pk_test_shop0001', 'idempotency-key': 'retry-after-expiry-0001' };
    const body = { amount: 500, phone: '0708374150', token };
    const first = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers, payload: body });
    expect(first.statusCode).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const retry = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers, payload: body });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json().id).toBe(first.json().id);
    const fresh = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...headers, 'idempotency-key': 'retry-after-expiry-0002' }, payload: body });
    expect(fresh.statusCode).toBe(400);
    expect(fresh.json().error.details[0]).toMatchObject({ field: 'token', message: expect.stringMatching(/expired/) });
  });

  it("keeps a token's reference and description as signed: any plain text is paid and found by the reference filter, and the browser's description is not taken in its place", async () => {
    const reference = 'Order #12 (café), shop@home – ' + 'x'.repeat(60);
    const token = createCheckoutToken({ merchant: 'shop', amount: 250, reference }, SHOP_SECRET);
    const created = await pay('pk_test_shop0001', { amount: 250, phone: '0708374151', token, description: 'typed in the browser' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ reference, description: null });
    const list = await relay.app.inject({ method: 'GET', url: `/v1/payments?reference=${encodeURIComponent(reference)}`, headers: { authorization: `Bearer ${SHOP_SECRET}` } });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((payment: { id: string }) => payment.id)).toEqual([created.json().id]);
  });

  it("pays a token whose reference and description are any plain text when the widget sends them beside it, as its attributes hold them; another reference beside it is refused", async () => {
    // <stk-pay reference="…" description="…" token="…">: the widget sends its attributes too.
    const reference = "Mama's order, 2 bags";
    const description = `${'Unga wa ngano, '.repeat(10)}asante`;
    const token = createCheckoutToken({ merchant: 'shop', amount: 500, reference, description }, SHOP_SECRET);
    const created = await pay('pk_test_shop0001', { amount: 500, phone: '0708374153', token, reference, description });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ reference, description });
    const terms = await relay.app.inject({ method: 'POST', url: '/v1/checkout/terms', headers: { 'x-publishable-key': 'pk_test_shop0001' }, payload: { amount: 500, token, reference, description } });
    expect(terms.statusCode, terms.body).toBe(200);
    const other = await pay('pk_test_shop0001', { amount: 500, phone: '0708374154', token, reference: "Baba's order" });
    expect(other.statusCode).toBe(400);
    expect(other.json().error.details).toEqual([{ field: 'reference', message: 'does not match the checkout token' }]);
    // Without a token, what a customer could type is still held to the reference rules.
    const typed = await pay('pk_test_demo', { amount: 500, phone: '0708374155', reference, description });
    expect(typed.statusCode).toBe(400);
    expect(typed.json().error.details.map((detail: { field: string }) => detail.field)).toEqual(['reference', 'description']);
  });

  it('refuses a token whose reference or description is not plain text (a NUL, a lone surrogate) with a 400 naming the token, and cannot sign one', async () => {
    const before = countRows(relay.dbPath, 'payments');
    const claims = (text: Record<string, string | undefined>) => Buffer.from(JSON.stringify({ merchant: 'shop', amount: 250, reference: 'INV-9', expiresAt: Math.floor(Date.now() / 1000) + 600, ...text })).toString('base64url');
    for (const odd of [{ reference: 'INV\u0000-9' }, { description: 'Flour \ud800' }]) {
      const payload = claims(odd);
      const signature = createHmac('sha256', SHOP_SECRET).update(`ct1.${payload}`).digest('base64url');
      const response = await pay('pk_test_shop0001', { amount: 250, phone: '0708374149', token: `ct1.${payload}.${signature}` });
      expect(response.statusCode, JSON.stringify(odd)).toBe(400);
      expect(response.json().error.details[0]).toMatchObject({ field: 'token', message: expect.stringMatching(/plain text/) });
    }
    expect(countRows(relay.dbPath, 'payments')).toBe(before);
    expect(() => createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV\u0000' }, SHOP_SECRET)).toThrow(/plain text/);
  });

  it.each([
    ['no token for a merchant that requires one', () => ({ amount: 250, phone: '0708374149' }), 'token', /signed by its server/],
    ['an edited amount', () => ({ amount: 1, phone: '0708374149', token: createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9' }, SHOP_SECRET) }), 'amount', /does not match the checkout token/],
    ['an edited reference', () => ({ amount: 250, phone: '0708374149', reference: 'INV-1', token: createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9' }, SHOP_SECRET) }), 'reference', /does not match/],
    ['an expired token', () => ({ amount: 250, phone: '0708374149', token: createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9', expiresInSeconds: 1, now: new Date(Date.now() - 10_000) }, SHOP_SECRET) }), 'token', /expired/],
    ['a forged token', () => ({ amount: 250, phone: '0708374149', token: createCheckoutToken({ merchant: 'shop', amount: 250, reference: 'INV-9' }, 'sk_test_forger_0123456789abc') }), 'token', /forged or altered/],
    ["another merchant's token", () => ({ amount: 250, phone: '0708374149', token: createCheckoutToken({ merchant: 'demo', amount: 250, reference: 'INV-9' }, DEMO_SECRET) }), 'token', /another merchant/],
    ['an amount not in the allowed list, even signed', () => ({ amount: 300, phone: '0708374149', token: createCheckoutToken({ merchant: 'shop', amount: 300, reference: 'INV-9' }, SHOP_SECRET) }), 'amount', /accepts only KES 250, KES 500/],
  ])('refuses %s with a 400 naming the field, and sends no prompt', async (_name, body, field, message) => {
    const before = countRows(relay.dbPath, 'payments');
    const response = await pay('pk_test_shop0001', body());
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.details[0].field).toBe(field);
    expect(error.message).toMatch(message);
    expect(countRows(relay.dbPath, 'payments')).toBe(before);
  });
});

describe('POST /v1/checkout/terms', () => {
  it('says what a signed link would charge, without storing anything or sending a prompt', async () => {
    const before = countRows(relay.dbPath, 'payments');
    const token = createCheckoutToken({ merchant: 'shop', amount: 500, reference: 'INV-77', description: 'Sugar' }, SHOP_SECRET);
    const response = await relay.app.inject({ method: 'POST', url: '/v1/checkout/terms', headers: { 'x-publishable-key': 'pk_test_shop0001' }, payload: { amount: 500, token } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ amount: 500, currency: 'KES', reference: 'INV-77', description: 'Sugar' });
    expect(countRows(relay.dbPath, 'payments')).toBe(before);
  });

  it('refuses what the payment would refuse, naming the field', async () => {
    const tampered = await relay.app.inject({
      method: 'POST',
      url: '/v1/checkout/terms',
      headers: { 'x-publishable-key': 'pk_test_shop0001' },
      payload: { amount: 1, token: createCheckoutToken({ merchant: 'shop', amount: 500, reference: 'INV-77' }, SHOP_SECRET) },
    });
    expect(tampered.statusCode).toBe(400);
    expect(tampered.json().error.details[0].field).toBe('amount');
    const demo = await relay.app.inject({ method: 'POST', url: '/v1/checkout/terms', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 200_000 } });
    expect(demo.json().error.details[0].field).toBe('amount');
    const noKey = await relay.app.inject({ method: 'POST', url: '/v1/checkout/terms', payload: { amount: 100 } });
    expect(noKey.statusCode).toBe(401);
  });
});

describe('the merchant API (secret key)', () => {
  it('lists only its own payments, newest first, with full phone numbers, page by page', async () => {
    for (const reference of ['A-1', 'A-2', 'A-3']) expect((await pay('pk_test_demo', { amount: 100, phone: '0712345678', reference })).statusCode).toBe(201);
    const auth = { authorization: `Bearer ${DEMO_SECRET}` };
    const first = await relay.app.inject({ method: 'GET', url: '/v1/payments?limit=2', headers: auth });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.data.map((p: { reference: string }) => p.reference)).toEqual(['A-3', 'A-2']);
    expect(page1.data[0].phone).toBe('254712345678');
    expect(page1.nextCursor).toEqual(expect.any(String));
    const second = (await relay.app.inject({ method: 'GET', url: `/v1/payments?limit=2&cursor=${page1.nextCursor}`, headers: auth })).json();
    expect(second.data.map((p: { reference: string }) => p.reference)).toEqual(['A-1']);
    expect(second.nextCursor).toBeNull();
    const shopList = (await relay.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${SHOP_SECRET}` } })).json();
    expect(shopList.data.every((p: { merchantId: string }) => p.merchantId === 'shop')).toBe(true);
  });

  it('filters by reference and status', async () => {
    const auth = { authorization: `Bearer ${DEMO_SECRET}` };
    const byRef = (await relay.app.inject({ method: 'GET', url: '/v1/payments?reference=A-2', headers: auth })).json();
    expect(byRef.data).toHaveLength(1);
    const bad = await relay.app.inject({ method: 'GET', url: '/v1/payments?status=paid', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].field).toBe('querystring.status');
  });

  it('shows one payment with the full phone to its merchant, and hides it from another', async () => {
    const created = (await pay('pk_test_demo', { amount: 100, phone: '0712345678', reference: 'B-1' })).json();
    const own = await relay.app.inject({ method: 'GET', url: `/v1/payments/${created.id}`, headers: { authorization: `Bearer ${DEMO_SECRET}` } });
    expect(own.json().phone).toBe('254712345678');
    const other = await relay.app.inject({ method: 'GET', url: `/v1/payments/${created.id}`, headers: { authorization: `Bearer ${SHOP_SECRET}` } });
    expect(other.statusCode).toBe(404);
    const publicView = await relay.app.inject({ method: 'GET', url: `/v1/payments/${created.id}` });
    expect(publicView.json().phone).toBe('2547•••••678');
  });

  it('refuses a wrong secret key (401), and a publishable key is not a secret key', async () => {
    for (const authorization of ['Bearer sk_test_wrong_0123456789abc', 'Bearer pk_test_demo', 'Basic abc', 'sk_test_demo_0123456789abcdef']) {
      const response = await relay.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization } });
      expect(response.statusCode).toBe(401);
    }
    expect((await relay.app.inject({ method: 'GET', url: '/v1/payments' })).statusCode).toBe(401);
  });
});
