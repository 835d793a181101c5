/**
 * A provider's own words (IntaSend's and KulmiPay's `failed_reason` and refusals, UpesiPay's
 * `ResultDesc`) reach the merchant as `failure.providerMessage` (API and webhooks) and the store:
 * never with a secret in them, should the provider or a gateway before it echo the request.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { startHttpDouble } from '../testing/doubles/http-double.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';
import { IntaSendProvider, type IntaSendFlavour } from './intasend.js';
import type { Provider } from './types.js';
import { upesipayFromEnv } from './upesipay.js';

// Secrets with separators: no run of key-like characters long enough to be caught as one.
const PUBLIC = 'ISPubKey_test-7c1e-2a90-public';
const SECRET = 'ISSecretKey_test-5b9d-4f31-secret';
const CHALLENGE = 'whk-challenge-8e21f7';
const UPESI_TOKEN = 'upesi-token-7f3a-91bc-d2e4';
const CALLBACK_TOKEN = 'cb_token-4f2a-9e17-b3c5';
const MERCHANT_SECRET = 'sk_test_provider_texts_0123';

/** A provider text quoting back everything it was sent, and the dashboard's settings. */
const INTASEND_ECHO = `Declined: auth=Bearer ${SECRET} public_key=${PUBLIC} challenge=${CHALLENGE} callback=/v1/callbacks/x/${CALLBACK_TOKEN}`;
const UPESIPAY_ECHO = `Declined: auth=Basic ${UPESI_TOKEN} callback_url=http://relay/v1/callbacks/upesipay/${CALLBACK_TOKEN}`;
const SECRETS = [SECRET, PUBLIC, CHALLENGE, UPESI_TOKEN, CALLBACK_TOKEN];

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

/** A real relay around `provider`, its log kept; pays once and returns the failed payment as the merchant API shows it, the stored record and the log. */
async function failedPayment(provider: Provider): Promise<{ view: { status: string; failure?: { code: string; providerMessage?: string } }; stored: string; log: string }> {
  const chunks: string[] = [];
  const logStream = new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) });
  const relay: StartedRelay = await startRelay({ merchants: [demoMerchant(provider, [], MERCHANT_SECRET)], callbackToken: CALLBACK_TOKEN, checkSchedule: { promptWindowMs: 100 }, reconcileTickMs: 50, logger: { level: 'info' }, logStream });
  open.push(relay);
  const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 120, phone: '0708374149' } });
  expect(created.statusCode).toBe(201);
  const id = (created.json() as { id: string }).id;
  let view = { status: 'pending' } as Awaited<ReturnType<typeof failedPayment>>['view'];
  await until(async () => {
    view = (await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: { authorization: `Bearer ${MERCHANT_SECRET}` } })).json();
    return view.status === 'failed';
  }, 'the payment failed', 8_000);
  return { view, stored: JSON.stringify(await relay.app.store.getPayment(id)), log: chunks.join('') };
}

describe.each<IntaSendFlavour>(['intasend', 'kulmipay'])('%s texts that echo the request', (flavour) => {
  /** An IntaSend API that takes the push and then reports the invoice failed, or refuses the push, in words quoting the secrets. */
  async function provider(refusePush: boolean): Promise<IntaSendProvider> {
    const double = await startHttpDouble((app) => {
      app.post('/api/v1/payment/mpesa-stk-push/', async (request, reply) => {
        if (refusePush) return reply.code(400).send({ detail: INTASEND_ECHO });
        return { invoice: { invoice_id: 'INV-TEXTS', state: 'PENDING', api_ref: (request.body as { api_ref: string }).api_ref } };
      });
      app.post('/api/v1/payment/status/', async () => ({ invoice: { invoice_id: 'INV-TEXTS', state: 'FAILED', failed_code: null, failed_reason: INTASEND_ECHO } }));
    });
    open.push(double);
    return new IntaSendProvider({ flavour, baseUrl: double.url, publishableKey: PUBLIC, secretKey: SECRET, webhookChallenge: CHALLENGE });
  }

  it('keeps a failed_reason without the keys, the webhook challenge or the callback token, in the merchant API, the store and the log', async () => {
    const { view, stored, log } = await failedPayment(await provider(false));
    expect(view.failure).toMatchObject({ code: 'provider_error', providerMessage: expect.stringContaining('Declined: auth=Bearer [redacted]') });
    for (const kept of [JSON.stringify(view), stored, log]) expectNoSecret(kept);
  });

  it('keeps a push refusal without the keys, the webhook challenge or the callback token', async () => {
    const { view, stored, log } = await failedPayment(await provider(true));
    expect(view.failure).toMatchObject({ code: 'rejected', providerMessage: expect.stringContaining('refused the request (HTTP 400): Declined: auth=Bearer [redacted]') });
    for (const kept of [JSON.stringify(view), stored, log]) expectNoSecret(kept);
  });

  it("reads a webhook's failed_reason without the secrets", async () => {
    const adapter = await provider(false);
    adapter.hideCallbackToken(CALLBACK_TOKEN);
    const invoice = { invoice_id: 'INV-TEXTS', state: 'FAILED', failed_code: '1032', failed_reason: INTASEND_ECHO, api_ref: 'pay_texts', challenge: CHALLENGE };
    const parsed = adapter.parseCallback({ headers: {}, body: invoice, rawBody: JSON.stringify(invoice) });
    expect(parsed).toMatchObject({ kind: 'status', update: { status: 'failed', code: 'cancelled', message: expect.stringContaining('[redacted]') } });
    expectNoSecret(JSON.stringify(parsed));
  });
});

describe('UpesiPay texts that echo the request', () => {
  async function provider() {
    const double = await startHttpDouble((app) => {
      app.post('/api/v2/payments', async (_request, reply) => reply.code(201).send({ success: true, status: 'QUEUED', reference: 'UPR-TEXTS' }));
      app.get('/api/v2/transaction-status', async () => ({ status: 'FAILED', ResultCode: 1032, ResultDesc: UPESIPAY_ECHO }));
    });
    open.push(double);
    return upesipayFromEnv({ UPESIPAY_BASE_URL: double.url, UPESIPAY_AUTH_TOKEN: UPESI_TOKEN, UPESIPAY_CHANNEL_ID: '2133' });
  }

  it('keeps a status answer\'s ResultDesc without the token or the callback token, in the merchant API, the store and the log', async () => {
    const { view, stored, log } = await failedPayment(await provider());
    expect(view.failure).toMatchObject({ code: 'cancelled', providerMessage: expect.stringContaining('[redacted]') });
    for (const kept of [JSON.stringify(view), stored, log]) expectNoSecret(kept);
  });

  it("reads a callback's ResultDesc without the token or the callback token", async () => {
    const adapter = await provider();
    adapter.hideCallbackToken(CALLBACK_TOKEN);
    const body = { forward_url: '', status: true, response: { Amount: null, CheckoutRequestID: 'ws_CO_texts', ExternalReference: 'pay_texts', MpesaReceiptNumber: null, Phone: null, ResultCode: 1032, ResultDesc: UPESIPAY_ECHO } };
    const parsed = adapter.parseCallback({ headers: {}, body, rawBody: JSON.stringify(body) });
    expect(parsed).toMatchObject({ kind: 'status', update: { status: 'failed', code: 'cancelled', message: expect.stringContaining('[redacted]') } });
    expectNoSecret(JSON.stringify(parsed));
  });
});
