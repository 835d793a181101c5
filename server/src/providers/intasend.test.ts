import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { ConfigError } from '../config.js';
import { toMerchantView } from '../payments/view.js';
import { FAILURE_NUMBERS } from '../testing/doubles/http-double.js';
import { startIntaSendDouble, type IntaSendDouble, type IntaSendDoubleOptions } from '../testing/doubles/intasend.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { recordedVerdicts } from '../testing/until.js';
import { providerFromEnv } from './index.js';
import { IntaSendProvider, intasendFromEnv, kulmipayFromEnv, refusalMessage, roundUpToShilling, statusOfInvoice, type IntaSendOptions } from './intasend.js';
import type { Provider } from './types.js';

const PUBLIC = 'ISPubKey_test_7c1e2a90-public';
const SECRET = 'ISSecretKey_test_5b9d4f31-secret';
const CHALLENGE = 'whk-challenge-8e21f7';
const TOKEN = 'cb_token_0123456789abcdef';
const PAID = '0708374149';
/** For tests about what webhooks do: the relay's own status checks wait long enough not to decide first. */
const WEBHOOKS_DECIDE = { promptWindowMs: 10_000 };

type Flavour = 'intasend' | 'kulmipay';

interface Rig {
  double: IntaSendDouble;
  relay: StartedRelay;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

function adapterFor(flavour: Flavour, baseUrl: string, overrides: Partial<IntaSendOptions> = {}): IntaSendProvider {
  return new IntaSendProvider({ flavour, baseUrl, publishableKey: PUBLIC, secretKey: SECRET, webhookChallenge: CHALLENGE, ...overrides });
}

async function startDouble(flavour: Flavour, options: Partial<IntaSendDoubleOptions> = {}): Promise<IntaSendDouble> {
  const double = await startIntaSendDouble({ flavour, publishableKey: PUBLIC, secretKey: SECRET, challenge: CHALLENGE, delayMs: 60, ...options });
  open.push(double);
  return double;
}

/** The double, the unchanged adapter pointed at it, and a real relay whose callback URL the double calls. */
async function rig(
  flavour: Flavour,
  options: { double?: Partial<IntaSendDoubleOptions>; adapter?: (baseUrl: string) => Provider; promptWindowMs?: number } = {},
): Promise<Rig> {
  const double = await startDouble(flavour, options.double);
  const adapter = options.adapter?.(double.url) ?? adapterFor(flavour, double.url);
  const checkSchedule = { promptWindowMs: options.promptWindowMs ?? 200 };
  const relay = await startRelay({ merchants: [demoMerchant(adapter)], callbackToken: TOKEN, checkSchedule, reconcileTickMs: 50 });
  open.push(relay);
  double.webhookUrl = `${relay.url}/v1/callbacks/${flavour}/${TOKEN}`;
  return { double, relay };
}

async function pay(relay: StartedRelay, phone: string, extra: { amount?: number; reference?: string; description?: string } = {}): Promise<string> {
  const created = await relay.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { 'x-publishable-key': 'pk_test_demo' },
    payload: { amount: 120, phone, ...extra },
  });
  expect(created.statusCode).toBe(201);
  return (created.json() as { id: string }).id;
}

async function until<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 6_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function view(relay: StartedRelay, id: string) {
  return (await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}` })).json();
}

const finalView = (relay: StartedRelay, id: string) => until(() => view(relay, id), (p) => p.status === 'succeeded' || p.status === 'failed');

const verdicts = (r: StartedRelay, id: string, atLeast = 0) => recordedVerdicts(r.app.store, id, atLeast);

/** Webhooks the relay has answered. */
const answered = (double: IntaSendDouble) => double.webhooks.filter((w) => w.status !== undefined).length;

const pushes = (double: IntaSendDouble) => double.requests.filter((r) => r.path !== '/api/v1/payment/status/');
const statusQueries = (double: IntaSendDouble) => double.requests.filter((r) => r.path === '/api/v1/payment/status/');

function onlyInvoice(double: IntaSendDouble) {
  expect(double.invoices.size).toBe(1);
  return [...double.invoices.values()][0]!;
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, text: await response.text() };
}

/**
 * A paid push decided by webhooks: succeeded with the invoice's receipt after one prompt, the three
 * webhooks (PENDING, PROCESSING, COMPLETE) answered 200, and only the final one applied.
 */
async function paidByWebhooks(flavour: Flavour, double: Partial<IntaSendDoubleOptions>, extra: Parameters<typeof pay>[2] = {}) {
  const started = await rig(flavour, { double, ...WEBHOOKS_DECIDE });
  const id = await pay(started.relay, PAID, extra);
  const payment = await finalView(started.relay, id);
  expect(payment.status).toBe('succeeded');
  expect(payment.receipt).toBe(onlyInvoice(started.double).mpesa_reference);
  expect(started.double.prompts).toBe(1);
  await until(() => answered(started.double), (n) => n >= 3);
  expect(started.double.webhooks.map((w) => [w.state, w.status])).toEqual([['PENDING', 200], ['PROCESSING', 200], ['COMPLETE', 200]]);
  expect(await verdicts(started.relay, id, 3)).toEqual(['pending', 'pending', 'applied']);
  return { ...started, id, push: pushes(started.double)[0] };
}

/** A payment whose prompt is out (the double answers only after 800 ms), for webhooks sent in the meantime. */
async function awaitingPrompt(flavour: Flavour, double: Partial<IntaSendDoubleOptions> = {}, amount = 120) {
  const started = await rig(flavour, { double: { delayMs: 800, ...double } });
  const id = await pay(started.relay, PAID, { amount });
  const invoice = await until(() => [...started.double.invoices.values()][0], (i) => i !== undefined);
  return { ...started, id, invoice: invoice!, url: started.double.webhookUrl! };
}

describe('IntaSend through a real relay', () => {
  it('a paid push: webhooks on PENDING, PROCESSING and COMPLETE; the payment succeeds once, with the receipt, after one prompt', async () => {
    const { double, relay, id, push } = await paidByWebhooks('intasend', {}, { reference: 'INV-9', description: '2 coffees' });
    expect(push?.path).toBe('/api/v1/payment/mpesa-stk-push/');
    expect(push?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(push?.body).toEqual({ public_key: PUBLIC, currency: 'KES', method: 'M-PESA', amount: 120, phone_number: '254708374149', api_ref: id, narrative: 'INV-9: 2 coffees' });
    const events = await relay.app.store.eventsAfter(id, 0);
    expect(events.filter((e) => e.status === 'succeeded').map((e) => e.source)).toEqual(['callback']);
    for (const answer of double.webhooks.map((w) => w.answer)) expect(answer).not.toContain(SECRET);
  });

  it('a push whose webhooks never come succeeds by the status query, asked with the public key only', async () => {
    const { double, relay } = await rig('intasend');
    const id = await pay(relay, '0700000005');
    const payment = await finalView(relay, id);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toBe(onlyInvoice(double).mpesa_reference);
    expect(double.webhooks).toEqual([]);
    expect((await relay.app.store.eventsAfter(id, 0)).at(-1)?.source).toBe('query');
    const query = statusQueries(double).at(-1);
    expect(query?.headers['intasend_public_api_key']).toBe(PUBLIC);
    expect(query?.headers.authorization).toBeUndefined();
    expect(query?.body).toEqual({ public_key: PUBLIC, invoice_id: onlyInvoice(double).invoice_id });
  });

  it('a final webhook delivered twice: one success, the second recorded as a duplicate', async () => {
    const { double, relay } = await rig('intasend', WEBHOOKS_DECIDE);
    const id = await pay(relay, '0700000006');
    expect((await finalView(relay, id)).status).toBe('succeeded');
    await until(() => answered(double), (n) => n >= 4);
    expect(await verdicts(relay, id, 4)).toEqual(['pending', 'pending', 'applied', 'duplicate: already succeeded']);
    expect((await relay.app.store.eventsAfter(id, 0)).filter((e) => e.status === 'succeeded')).toHaveLength(1);
  });

  it.each(FAILURE_NUMBERS)('a FAILED invoice for %s ends failed %s, from its failed_code', async (phone, code) => {
    const { double, relay } = await rig('intasend');
    const id = await pay(relay, phone);
    const payment = await finalView(relay, id);
    expect(payment.status).toBe('failed');
    expect(payment.failure.code).toBe(code);
    expect(double.prompts).toBe(1);
    expect((await relay.app.store.getPayment(id))?.failureMessage).toBe(onlyInvoice(double).failed_reason);
  });

  it('a push answered 429 is sent again after a wait, never prompts, and ends rejected', async () => {
    const { double, relay } = await rig('intasend');
    const id = await pay(relay, '0700000007');
    const payment = await until(() => view(relay, id), (p) => p.status === 'failed', 8_000);
    expect(payment.failure?.code).toBe('rejected');
    expect(pushes(double)).toHaveLength(3);
    expect(double.prompts).toBe(0);
  });

  it('a push answered 500 whose prompt went out is never sent again and succeeds by the webhook matched on api_ref', async () => {
    const { double, relay } = await rig('intasend', WEBHOOKS_DECIDE);
    const id = await pay(relay, '0700000008');
    const payment = await finalView(relay, id);
    expect(payment.status).toBe('succeeded');
    expect(pushes(double)).toHaveLength(1);
    expect(double.prompts).toBe(1);
    const invoice = onlyInvoice(double);
    expect(payment.receipt).toBe(invoice.mpesa_reference);
    expect((await relay.app.store.getPayment(id))?.providerRef).toBe(invoice.invoice_id);
    expect(await verdicts(relay, id, 3)).toEqual(['pending', 'pending', 'applied']);
  });

  it("a failed payment that IntaSend later reports paid (its status agreeing) stays failed, but the merchant view says to check it: the customer may have been charged", async () => {
    const { double, relay } = await rig('intasend');
    const id = await pay(relay, '0700000001');
    expect((await finalView(relay, id)).status).toBe('failed');
    // IntaSend retried the prompt, and this time the customer paid.
    const invoice = onlyInvoice(double);
    Object.assign(invoice, { state: 'COMPLETE', mpesa_reference: 'SLT4P9Q2XR', failed_code: null, failed_reason: null });
    const late = double.webhookFor(invoice);
    expect((await post(double.webhookUrl!, late.body, late.headers)).status).toBe(200);
    const merchant = toMerchantView((await relay.app.store.getPayment(id))!);
    expect(merchant.status).toBe('failed');
    expect(merchant.review?.reason).toContain('reported this payment failed, then paid (M-Pesa receipt SLT4P9Q2XR)');
    expect((await view(relay, id)).review).toBeUndefined();
    expect((await verdicts(relay, id)).at(-1)).toBe('duplicate: already failed; the provider now reports it paid: held for review');
  });

  it('a forged "paid" webhook for a failed payment, which the status endpoint does not confirm, raises nothing', async () => {
    const { double, relay } = await rig('intasend');
    const id = await pay(relay, '0700000001');
    expect((await finalView(relay, id)).status).toBe('failed');
    const forged = double.webhookFor({ ...onlyInvoice(double), state: 'COMPLETE', mpesa_reference: 'SFORGED123', failed_code: null, failed_reason: null });
    expect((await post(double.webhookUrl!, forged.body, forged.headers)).status).toBe(200);
    expect((await verdicts(relay, id)).at(-1)).toBe('duplicate: already failed');
    expect((await relay.app.store.getPayment(id))?.reviewReason).toBeNull();
  });

  it('a webhook with a wrong or missing challenge is refused and changes nothing', async () => {
    const { relay, id, invoice, url } = await awaitingPrompt('intasend');
    const forged = { ...invoice, state: 'FAILED', failed_code: '1032', failed_reason: 'Request cancelled by user' };
    const wrong = await post(url, JSON.stringify({ ...forged, challenge: 'not-the-challenge' }));
    const missing = await post(url, JSON.stringify(forged));
    for (const answer of [wrong, missing]) {
      expect(answer.status).toBe(403);
      expect(answer.text).not.toContain(CHALLENGE);
      expect(answer.text).not.toContain(SECRET);
    }
    expect(await verdicts(relay, id)).toEqual([]);
    expect((await view(relay, id)).status).not.toBe('failed');
    expect((await finalView(relay, id)).status).toBe('succeeded');
  });

  it('a webhook with the right challenge still counts only once the status endpoint agrees', async () => {
    const { relay, id, invoice, url } = await awaitingPrompt('intasend');
    const claim = { ...invoice, state: 'FAILED', failed_code: '1032', failed_reason: 'Request cancelled by user', challenge: CHALLENGE };
    const answer = await post(url, JSON.stringify(claim));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ verdict: 'unconfirmed' });
    expect((await view(relay, id)).status).not.toBe('failed');
    expect((await finalView(relay, id)).status).toBe('succeeded');
  });

  it('INTASEND_LEGACY_COLLECTION=true pushes to the legacy collection endpoint with the public key in the body and no Authorization', async () => {
    const env = (baseUrl: string) => ({ INTASEND_BASE_URL: baseUrl, INTASEND_PUBLISHABLE_KEY: PUBLIC, INTASEND_SECRET_KEY: SECRET, INTASEND_WEBHOOK_CHALLENGE: CHALLENGE, INTASEND_LEGACY_COLLECTION: 'true' });
    const { double, relay } = await rig('intasend', { adapter: (baseUrl) => intasendFromEnv(env(baseUrl)) });
    const id = await pay(relay, PAID);
    expect((await finalView(relay, id)).status).toBe('succeeded');
    const [push] = pushes(double);
    expect(push?.path).toBe('/api/v1/payment/collection/');
    expect(push?.headers.authorization).toBeUndefined();
    expect(push?.body).toMatchObject({ public_key: PUBLIC, currency: 'KES', method: 'M-PESA', api_ref: id });
  });

  it('a wrong secret key fails the push as rejected, and the key shows in no view, stored message or answer', async () => {
    const wrongKey = 'ISSecretKey_test_0000-not-the-right-one';
    const { double, relay } = await rig('intasend', { adapter: (baseUrl) => adapterFor('intasend', baseUrl, { secretKey: wrongKey }) });
    const id = await pay(relay, PAID);
    const payment = await finalView(relay, id);
    expect(payment.failure?.code).toBe('rejected');
    expect(double.prompts).toBe(0);
    const stored = await relay.app.store.getPayment(id);
    expect(stored?.failureMessage).toMatch(/Invalid api token.*INTASEND_SECRET_KEY/);
    const listed = await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}/events`, headers: { accept: 'text/event-stream' } });
    for (const text of [JSON.stringify(payment), stored?.failureMessage ?? '', listed.body]) {
      expect(text).not.toContain(wrongKey);
      expect(text).not.toContain(SECRET);
    }
  });
});

describe('KulmiPay through a real relay', () => {
  it('a paid push with enveloped, HMAC-signed webhooks succeeds; push and status use the Bearer key; KES 10 arrives as 10', async () => {
    const { double, id, push } = await paidByWebhooks('kulmipay', { envelope: true, proof: 'hmac' }, { amount: 10, reference: 'INV-10' });
    expect(push?.path).toBe('/api/v1/payment/mpesa-stk-push/');
    expect(push?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(push?.body).toEqual({ phone_number: '254708374149', amount: 10, api_ref: id });
    const query = statusQueries(double).at(-1);
    expect(query?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(query?.body).toEqual({ invoice_id: onlyInvoice(double).invoice_id });
  });

  it('a customer who pays the fee on top (CUSTOMER-PAYS, sent or the account default) is paid, not held for review; another amount still is', async () => {
    const customerPays = (base: string) => adapterFor('kulmipay', base, { mobileTariff: 'CUSTOMER-PAYS' });
    for (const setup of [
      { double: { feePercent: 3 }, adapter: customerPays },
      { double: { feePercent: 3, accountTariff: 'CUSTOMER-PAYS' as const } },
      { double: { feePercent: 3, accountTariff: 'BUSINESS-PAYS' as const } },
    ]) {
      const { double, relay } = await rig('kulmipay', { ...setup, ...WEBHOOKS_DECIDE });
      const id = await pay(relay, PAID, { amount: 100 });
      const payment = await finalView(relay, id);
      const invoice = onlyInvoice(double);
      expect(payment.status, JSON.stringify(setup.double)).toBe('succeeded');
      expect(invoice.charges).toBe('3.00');
      expect(invoice.value).toBe(setup.double.accountTariff === 'BUSINESS-PAYS' ? '100.00' : '103.00');
    }
    // The fee does not excuse another amount: 90 paid with a fee of 3 is not a payment of 100.
    const { double, relay } = await rig('kulmipay', { double: { feePercent: 3, delayMs: 60_000 }, adapter: customerPays });
    const id = await pay(relay, PAID, { amount: 100 });
    const invoice = await until(() => [...double.invoices.values()][0], (i) => i !== undefined);
    Object.assign(invoice!, { state: 'COMPLETE', value: '93.00', charges: '3.00', mpesa_reference: 'QKL0000OTH' });
    const held = await until(() => relay.app.store.getPayment(id), (p) => p?.reviewReason != null);
    expect(held).toMatchObject({ status: 'awaiting_customer', reviewReason: expect.stringMatching(/KES 93 paid for a payment of KES 100/) });
  });

  it('webhooks proved by an X-Challenge header are accepted', async () => {
    await paidByWebhooks('kulmipay', { proof: 'header' }, { amount: 50 });
  });

  it('a webhook whose HMAC does not match its raw body, or that carries no proof, is refused', async () => {
    const { double, relay, id, invoice, url } = await awaitingPrompt('kulmipay', { envelope: true, proof: 'hmac' }, 50);
    const signed = double.webhookFor({ ...invoice, state: 'COMPLETE', mpesa_reference: 'TFORGED001' });
    const tampered = await post(url, signed.body.replace('"value":"50.00"', '"value":"5.00"'), signed.headers);
    const unproved = await post(url, signed.body);
    expect([tampered.status, unproved.status]).toEqual([403, 403]);
    expect(await verdicts(relay, id)).toEqual([]);
    const payment = await finalView(relay, id);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).not.toBe('TFORGED001');
  });

  it.each([
    ['with no webhook at all is found paid by the Bearer status query', '0700000005', 'succeeded', undefined],
    ['cancelled on the phone ends failed cancelled', '0700000001', 'failed', 'cancelled'],
  ])('a push %s', async (_, phone, status, code) => {
    const { relay } = await rig('kulmipay', { double: { envelope: true } });
    const payment = await finalView(relay, await pay(relay, phone, { amount: 20 }));
    expect(payment.status).toBe(status);
    expect(payment.failure?.code).toBe(code);
  });

  it("an amount below KulmiPay's minimum is refused: rejected, no prompt, the field error kept for the merchant", async () => {
    const { double, relay } = await rig('kulmipay');
    const id = await pay(relay, PAID, { amount: 5 });
    const payment = await finalView(relay, id);
    expect(payment.failure?.code).toBe('rejected');
    expect(double.prompts).toBe(0);
    expect((await relay.app.store.getPayment(id))?.failureMessage).toBe(
      'KulmiPay refused the request (HTTP 400): amount: Ensure this value is greater than or equal to 10.',
    );
  });
});

const PUSH = { paymentId: 'pay_test', amount: 120, phone: '254708374149', reference: null, description: null, callbackUrl: 'http://unused' };

describe('the IntaSend/KulmiPay adapter', () => {
  it('rounds KulmiPay amounts up to a whole shilling', () => {
    expect(roundUpToShilling(10.2)).toBe(11);
    expect(roundUpToShilling(10.01)).toBe(11);
    expect(roundUpToShilling(10)).toBe(10);
    expect(roundUpToShilling(10.000000001)).toBe(10);
  });

  it('sends KulmiPay wallet_id and mobile_tarrif when configured', async () => {
    const double = await startDouble('kulmipay');
    const adapter = adapterFor('kulmipay', double.url, { walletId: 'W4LL3T', mobileTariff: 'CUSTOMER-PAYS' });
    expect(await adapter.requestPayment(PUSH)).toMatchObject({ kind: 'accepted', providerRef: onlyInvoice(double).invoice_id });
    expect(pushes(double)[0]?.body).toEqual({ phone_number: '254708374149', amount: 120, api_ref: 'pay_test', wallet_id: 'W4LL3T', mobile_tarrif: 'CUSTOMER-PAYS' });
  });

  it('throws throttled on a 429 and indeterminate on a 500, so the relay re-sends only the first', async () => {
    const double = await startDouble('kulmipay');
    const adapter = adapterFor('kulmipay', double.url);
    await expect(adapter.requestPayment({ ...PUSH, phone: '254700000007' })).rejects.toMatchObject({ name: 'ProviderHttpError', kind: 'throttled', retryAfterMs: 1000 });
    await expect(adapter.requestPayment({ ...PUSH, phone: '254700000008' })).rejects.toMatchObject({ name: 'ProviderHttpError', kind: 'indeterminate', status: 500 });
  });

  it('returns a refusal naming the field at fault, and redacts any key a provider echoes', async () => {
    const double = await startDouble('intasend');
    const refused = await adapterFor('intasend', double.url).requestPayment({ ...PUSH, phone: '' });
    expect(refused).toEqual({ kind: 'refused', code: 'rejected', message: 'IntaSend refused the request (HTTP 400): phone_number: This field may not be blank.' });
    expect(refusalMessage('IntaSend', 401, { detail: `Invalid token ${SECRET}` }, [SECRET])).toBe('IntaSend refused the request (HTTP 401): Invalid token [redacted]');
    expect(refusalMessage('IntaSend', 400, '<html>Bad Request</html>', [SECRET])).toBe('IntaSend refused the request (HTTP 400)');
    expect(refusalMessage('IntaSend', 400, { type: 'client_error', errors: [{ code: 'invalid', detail: 'Wallet not found' }] }, [])).toBe('IntaSend refused the request (HTTP 400): Wallet not found');
  });

  it('maps invoice states: unknown states stay pending, FAILED without a code is a provider error, COMPLETED counts as COMPLETE', () => {
    const invoice = { state: 'PENDING', api_ref: 'pay_x' };
    expect(statusOfInvoice({ ...invoice, state: 'RETRY' })).toEqual({ status: 'pending', paymentId: 'pay_x' });
    expect(statusOfInvoice({ ...invoice, state: 'SOMETHING-NEW' })).toEqual({ status: 'pending', paymentId: 'pay_x' });
    expect(statusOfInvoice({ ...invoice, state: 'COMPLETED', value: '250.00', mpesa_reference: 'QKL1234XYZ' })).toEqual({ status: 'succeeded', receipt: 'QKL1234XYZ', amount: 250, paymentId: 'pay_x' });
    expect(statusOfInvoice({ ...invoice, state: 'FAILED', failed_reason: 'Something broke' })).toEqual({ status: 'failed', code: 'provider_error', message: 'Something broke', paymentId: 'pay_x' });
    expect(statusOfInvoice({ ...invoice, state: 'FAILED', failed_code: 1037, failed_reason: null })).toMatchObject({ status: 'failed', code: 'unreachable' });
  });

  it('accepts a KulmiPay HMAC keyed by the secret key under X-Signature; IntaSend takes the body challenge only', () => {
    const rawBody = JSON.stringify({ invoice_id: 'ABC1234', state: 'PROCESSING', api_ref: 'pay_x', value: '10.00', account: '254708374149' });
    const body = JSON.parse(rawBody) as unknown;
    const kulmipay = adapterFor('kulmipay', 'http://127.0.0.1:9');
    const signature = createHmac('sha256', SECRET).update(rawBody).digest('hex');
    expect(kulmipay.parseCallback({ headers: { 'x-signature': `sha256=${signature}` }, body, rawBody })).toMatchObject({ kind: 'status', providerRef: 'ABC1234', paymentId: 'pay_x', match: { phone: '254708374149', amount: 10 } });
    expect(kulmipay.parseCallback({ headers: { 'x-signature': signature.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, body, rawBody })).toMatchObject({ kind: 'reject', status: 401 });
    const intasend = adapterFor('intasend', 'http://127.0.0.1:9');
    expect(intasend.parseCallback({ headers: { 'x-challenge': CHALLENGE }, body, rawBody })).toMatchObject({ kind: 'reject', status: 401 });
  });

  it("matches a CUSTOMER-PAYS webhook by the amount asked in whole cents, not the floating-point difference of value and charges", () => {
    const rawBody = JSON.stringify({ invoice_id: 'ABC1234', state: 'COMPLETE', api_ref: 'other-system', value: '128.01', charges: '0.01', account: '254708374149' });
    const kulmipay = adapterFor('kulmipay', 'http://127.0.0.1:9', { mobileTariff: 'CUSTOMER-PAYS' });
    const signature = createHmac('sha256', SECRET).update(rawBody).digest('hex');
    expect(kulmipay.parseCallback({ headers: { 'x-signature': signature }, body: JSON.parse(rawBody) as unknown, rawBody })).toMatchObject({ kind: 'status', match: { phone: '254708374149', amount: 128 } });
  });
});

describe('IntaSend and KulmiPay settings', () => {
  const intasendEnv = { INTASEND_PUBLISHABLE_KEY: PUBLIC, INTASEND_SECRET_KEY: SECRET, INTASEND_WEBHOOK_CHALLENGE: CHALLENGE };
  const kulmipayEnv = { KULMIPAY_SECRET_KEY: SECRET, KULMIPAY_WEBHOOK_CHALLENGE: CHALLENGE };

  it('are registered under their DESIGN.md names', () => {
    expect(providerFromEnv('intasend', intasendEnv).name).toBe('intasend');
    expect(providerFromEnv('kulmipay', kulmipayEnv).name).toBe('kulmipay');
  });

  it.each([
    ['intasend', 'INTASEND_SECRET_KEY missing', { ...intasendEnv, INTASEND_SECRET_KEY: undefined }, /^INTASEND_SECRET_KEY is missing/],
    ['intasend', 'INTASEND_WEBHOOK_CHALLENGE blank', { ...intasendEnv, INTASEND_WEBHOOK_CHALLENGE: ' ' }, /^INTASEND_WEBHOOK_CHALLENGE is missing/],
    ['intasend', 'INTASEND_BASE_URL not a URL', { ...intasendEnv, INTASEND_BASE_URL: 'sandbox.intasend.com' }, /^INTASEND_BASE_URL must be/],
    ['intasend', 'INTASEND_LEGACY_COLLECTION not a boolean', { ...intasendEnv, INTASEND_LEGACY_COLLECTION: 'maybe' }, /^INTASEND_LEGACY_COLLECTION must be true or false/],
    ['kulmipay', 'KULMIPAY_WEBHOOK_CHALLENGE missing', { ...kulmipayEnv, KULMIPAY_WEBHOOK_CHALLENGE: undefined }, /^KULMIPAY_WEBHOOK_CHALLENGE is missing/],
    ['kulmipay', 'KULMIPAY_MOBILE_TARIFF unknown', { ...kulmipayEnv, KULMIPAY_MOBILE_TARIFF: 'SOMEONE-PAYS' }, /^KULMIPAY_MOBILE_TARIFF must be BUSINESS-PAYS or CUSTOMER-PAYS/],
  ] as const)('%s stops start-up with one line naming the setting: %s', (name, _, env, message) => {
    const build = () => (name === 'intasend' ? intasendFromEnv(env) : kulmipayFromEnv(env));
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});
