import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { ConfigError } from '../config.js';
import { darajaSettings, startDarajaDouble, type DarajaDouble, type DarajaDoubleOptions } from '../testing/doubles/daraja.js';
import { FAILURE_NUMBERS, startHttpDouble } from '../testing/doubles/http-double.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { recordedVerdicts, until } from '../testing/until.js';
import { parseStkCallback } from './daraja-callback.js';
import { DarajaProvider, darajaFromEnv } from './daraja.js';
import { providerFromEnv } from './index.js';
import { statusFromResultCode } from './mpesa-result-codes.js';
import { kenyaTimestamp, parseKenyaTimestamp } from './mpesa-time.js';
import type { Env } from './settings.js';

const SECRET = 'cs-never-shown-4b8e1d0c7a';
const PASSKEY = 'pk-never-shown-bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';
const KEYS = { consumerKey: 'ck-daraja-test-app', consumerSecret: SECRET, shortcode: '174379', passkey: PASSKEY };
const CALLBACK_TOKEN = 'cb-token-daraja-tests-0123456789';

const PAID = '0708374149';
const SILENT = '0700000005';
const TWICE = '0700000006';
const THROTTLED = '0700000007';
const ERROR_BUT_DELIVERED = '0700000008';

let double: DarajaDouble | undefined;
let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  await double?.close();
  relay = undefined;
  double = undefined;
});

function envFor(url: string, extra: Env = {}): Env {
  return { ...darajaSettings(url, KEYS), ...extra };
}

/**
 * The double, the unchanged adapter configured from settings, and a real relay using it. Tests
 * about the callback itself give the relay a longer first check, so its status query cannot
 * settle the payment before the callback arrives.
 */
async function start(doubleOptions: Partial<DarajaDoubleOptions> = {}, env: Env = {}, promptWindowMs = 200) {
  const d = (double = await startDarajaDouble({ ...KEYS, ...doubleOptions }));
  const r = (relay = await startRelay({
    merchants: [demoMerchant(darajaFromEnv(envFor(d.url, env)))],
    callbackToken: CALLBACK_TOKEN,
    checkSchedule: { promptWindowMs },
    reconcileTickMs: 50,
  }));
  return { double: d, relay: r };
}

async function create(r: StartedRelay, body: { phone: string; amount?: number; reference?: string; description?: string }): Promise<string> {
  const response = await r.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { 'x-publishable-key': 'pk_test_demo' },
    payload: { amount: 100, ...body },
  });
  expect(response.statusCode).toBe(201);
  return (response.json() as { id: string }).id;
}

async function view(r: StartedRelay, id: string) {
  return (await r.app.inject({ method: 'GET', url: `/v1/payments/${id}` })).json();
}

async function waitFinal(r: StartedRelay, id: string, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const payment = await view(r, id);
    if (payment.status === 'succeeded' || payment.status === 'failed' || Date.now() > deadline) return payment;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

describe('Daraja M-Pesa Express through the real relay', () => {
  it('a paid push succeeds with the receipt of the callback, after one prompt with a valid password and Kenya-time timestamp', async () => {
    const { double, relay } = await start({}, {}, 2_000);
    const id = await create(relay, { phone: PAID, amount: 250 });
    const payment = await waitFinal(relay, id);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(/^S[0-9A-F]{9}$/);
    expect(double.prompts).toBe(1);
    const [push] = double.pushes();
    expect(push).toMatchObject({ BusinessShortCode: '174379', TransactionType: 'CustomerPayBillOnline', PartyB: '174379', Amount: 250, PartyA: '254708374149', PhoneNumber: '254708374149' });
    const timestamp = String(push?.['Timestamp']);
    expect(Buffer.from(String(push?.['Password']), 'base64').toString()).toBe(`174379${PASSKEY}${timestamp}`);
    expect(Math.abs(parseKenyaTimestamp(timestamp)! - Date.now())).toBeLessThan(60_000);
    // No merchant reference: the tail of our id stands in for it.
    expect(push?.['AccountReference']).toBe(id.slice(-12));
    expect(await recordedVerdicts(relay.app.store, id, 1)).toEqual(['applied']);
  });

  it('a wrong passkey is refused by Daraja: no prompt, the payment fails as rejected', async () => {
    const { double, relay } = await start({}, { DARAJA_PASSKEY: 'not-the-passkey' });
    const payment = await waitFinal(relay, await create(relay, { phone: PAID }));
    expect(payment.status).toBe('failed');
    expect(payment.failure.code).toBe('rejected');
    expect(double.prompts).toBe(0);
    expect(double.pushes()).toHaveLength(1);
  });

  it('a consumer secret Daraja refuses sends no push: the payment fails as rejected', async () => {
    const { double, relay } = await start({}, { DARAJA_CONSUMER_SECRET: 'not-the-secret' });
    const payment = await waitFinal(relay, await create(relay, { phone: PAID }));
    expect(payment.status).toBe('failed');
    expect(payment.failure.code).toBe('rejected');
    expect(double.tokensIssued).toBe(0);
    expect(double.pushes()).toHaveLength(0);
  });

  it('fetches the OAuth token once for several payments', async () => {
    const { double, relay } = await start();
    const ids = await Promise.all(['0711000001', '0711000002', '0711000003'].map((phone) => create(relay, { phone })));
    const payments = await Promise.all(ids.map((id) => waitFinal(relay, id)));
    expect(payments.map((p) => p.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(double.tokensIssued).toBe(1);
    expect(double.requests.filter((r) => r.path === '/oauth/v1/generate')).toHaveLength(1);
  });

  it('replaces an expired token (one refresh for concurrent pushes) and sends each push once more, with one prompt each', async () => {
    const { double, relay } = await start();
    expect((await waitFinal(relay, await create(relay, { phone: PAID }))).status).toBe('succeeded');
    double.expireTokens();
    const ids = await Promise.all(['0711000004', '0711000005'].map((phone) => create(relay, { phone })));
    const payments = await Promise.all(ids.map((id) => waitFinal(relay, id)));
    expect(payments.map((p) => p.status)).toEqual(['succeeded', 'succeeded']);
    expect(double.tokensIssued).toBe(2);
    expect(double.prompts).toBe(3);
    // A push that used the expired token was refused, then sent once more; one that started after
    // the refresh went through at once. At least the first was refused.
    const perPhone = ['254711000004', '254711000005'].map((phone) => double.pushes().filter((push) => push['PhoneNumber'] === phone).length);
    for (const count of perPhone) expect([1, 2]).toContain(count);
    expect(perPhone.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(3);
  });

  it('refreshes the token ahead of its expiry, not at it, so no push is refused for its token', async () => {
    const { double, relay } = await start({ tokenTtlSeconds: 1 });
    expect((await waitFinal(relay, await create(relay, { phone: PAID }))).status).toBe('succeeded');
    // Past half of the token's 1 s lifetime, not past all of it: only an early refresh fetches a new one.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await waitFinal(relay, await create(relay, { phone: '0711000006' }))).status).toBe('succeeded');
    expect(double.tokensIssued).toBe(2);
    expect(double.pushes()).toHaveLength(2);
  });

  it('a silent push reads as still pending while the prompt is open, then succeeds by status query', async () => {
    const { double, relay } = await start({ delayMs: 700 });
    const id = await create(relay, { phone: SILENT });
    await relay.app.payments.settle();
    const stored = await relay.app.store.getPayment(id);
    expect(stored?.providerRef).toMatch(/^ws_CO_/);
    const provider = relay.app.merchants.byId('demo')!.provider;
    expect(await provider.queryStatus(stored!.providerRef!)).toEqual({ status: 'pending' });
    expect((await view(relay, id)).status).toBe('awaiting_customer');
    const payment = await waitFinal(relay, id);
    expect(payment.status).toBe('succeeded');
    expect(await relay.app.store.callbacksFor(id)).toEqual([]);
    expect((await relay.app.store.eventsAfter(id, 0)).at(-1)?.source).toBe('query');
    // The reconciler asked while the prompt was open, and went on until the answer came.
    expect(double.requests.filter((r) => r.path === '/mpesa/stkpushquery/v1/query').length).toBeGreaterThan(2);
  });

  it('with an on-demand customer the payment waits for the customer, and succeeds by the callback answer() sends', async () => {
    const { double, relay } = await start({ delayMs: 'on-demand' }, {}, 100);
    const id = await create(relay, { phone: PAID, amount: 320 });
    await until(async () => (await view(relay, id)).status === 'awaiting_customer', 'push answered');
    // Status checks in the meantime hear "being processed".
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await view(relay, id)).status).toBe('awaiting_customer');
    const { sentAt, status } = await double.answer('254708374149');
    expect(status).toBe(200);
    expect(Math.abs(sentAt - Date.now())).toBeLessThan(5_000);
    const payment = await waitFinal(relay, id);
    expect(payment).toMatchObject({ status: 'succeeded', amount: 320 });
    await expect(double.answer('254708374149')).rejects.toThrow(/no open prompt/);
  });

  it('a callback delivered twice succeeds once and records the second as a duplicate', async () => {
    const { relay } = await start({}, {}, 2_000);
    const id = await create(relay, { phone: TWICE });
    expect((await waitFinal(relay, id)).status).toBe('succeeded');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await recordedVerdicts(relay.app.store, id, 2)).toEqual(['applied', 'duplicate: already succeeded']);
    expect((await relay.app.store.eventsAfter(id, 0)).filter((e) => e.status === 'succeeded')).toHaveLength(1);
  });

  it.each(FAILURE_NUMBERS)('%s ends failed with %s', async (phone, code) => {
    const { double, relay } = await start();
    const payment = await waitFinal(relay, await create(relay, { phone }));
    expect(payment.status).toBe('failed');
    expect(payment.failure.code).toBe(code);
    expect(double.prompts).toBe(1);
  });

  it('a push refused for spike arrest sends no prompt and ends failed as rejected after the retries', async () => {
    const { double, relay } = await start();
    const payment = await waitFinal(relay, await create(relay, { phone: THROTTLED }), 10_000);
    expect(payment.status).toBe('failed');
    expect(payment.failure.code).toBe('rejected');
    expect(double.prompts).toBe(0);
    // The service's own retries (Daraja did not act on them): the first try and two more.
    expect(double.pushes()).toHaveLength(3);
  });

  it('a push answered 500 while the prompt went out is never sent again, and succeeds by the callback matched on phone and amount', async () => {
    const { double, relay } = await start();
    const id = await create(relay, { phone: ERROR_BUT_DELIVERED, amount: 730 });
    const payment = await waitFinal(relay, id);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(/^S[0-9A-F]{9}$/);
    expect(double.prompts).toBe(1);
    expect(double.pushes()).toHaveLength(1);
    expect((await relay.app.store.getPayment(id))?.providerRef).toMatch(/^ws_CO_/);
  });

  it("a callback that arrives before Daraja's status query has caught up: the payment still succeeds, with the callback's receipt", async () => {
    // The query says "being processed" for 600 ms after the callback: the callback cannot be
    // confirmed when it comes, and Daraja sends it only once.
    const { relay } = await start({ queryLagMs: 600 }, {}, 2_000);
    const id = await create(relay, { phone: PAID, amount: 260 });
    const payment = await waitFinal(relay, id, 10_000);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(/^S[0-9A-F]{9}$/);
    expect(await recordedVerdicts(relay.app.store, id, 1)).toEqual(['unconfirmed: query says pending']);
    expect((await relay.app.store.eventsAfter(id, 0)).at(-1)?.source).toBe('query');
  });

  it("a push whose answer was lost, and whose callback comes before Daraja's query catches up: settled by the callback's reference, never left pending", async () => {
    const { double, relay } = await start({ queryLagMs: 600 }, {}, 2_000);
    const id = await create(relay, { phone: ERROR_BUT_DELIVERED, amount: 740 });
    const payment = await waitFinal(relay, id, 10_000);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(/^S[0-9A-F]{9}$/);
    expect(double.pushes()).toHaveLength(1);
    expect((await relay.app.store.getPayment(id))?.providerRef).toMatch(/^ws_CO_/);
  });

  it("a callback with the payment's own reference but another payment's receipt holds it for review: Daraja's query confirms the outcome, never the receipt", async () => {
    // The relay's own status check comes late, so the callback is what settles the payment.
    const { double, relay } = await start({}, {}, 5_000);
    const first = await create(relay, { phone: PAID, amount: 120 });
    const paid = await waitFinal(relay, first);
    expect(paid).toMatchObject({ status: 'succeeded', receipt: expect.stringMatching(/^S[0-9A-F]{9}$/) });
    // The customer pays the second prompt; no callback comes from Daraja (a silent one).
    const second = await create(relay, { phone: SILENT, amount: 130 });
    await until(async () => (await relay.app.store.getPayment(second))?.status === 'awaiting_customer');
    const { providerRef } = (await relay.app.store.getPayment(second))!;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const forged = await relay.app.inject({
      method: 'POST',
      url: `/v1/callbacks/daraja/${CALLBACK_TOKEN}`,
      headers: { 'content-type': 'application/json' },
      payload: { Body: { stkCallback: { MerchantRequestID: 'm-9', CheckoutRequestID: providerRef, ResultCode: 0, ResultDesc: 'ok', CallbackMetadata: { Item: [{ Name: 'Amount', Value: 130 }, { Name: 'MpesaReceiptNumber', Value: paid.receipt }, { Name: 'PhoneNumber', Value: 254700000005 }] } } } },
    });
    expect(forged.statusCode).toBe(200);
    const held = (await relay.app.store.getPayment(second))!;
    expect(held.status).toBe('awaiting_customer');
    expect(held.receipt).toBeNull();
    expect(held.reviewReason).toContain(`receipt ${paid.receipt}, which payment ${first} already has`);
    expect(double.prompts).toBe(2);
    expect((await relay.app.store.getPayment(first))?.receipt).toBe(paid.receipt);
  });

  it('cuts a long reference to 12 plain characters for AccountReference while the payment keeps the full one', async () => {
    const { double, relay } = await start();
    const reference = 'INV-2024/000123 #shop-east';
    const id = await create(relay, { phone: PAID, reference, description: 'Two bags of maize flour, delivered' });
    expect((await waitFinal(relay, id)).status).toBe('succeeded');
    expect(double.pushes()[0]).toMatchObject({ AccountReference: 'INV202400012', TransactionDesc: 'Two bags of m' });
    expect((await view(relay, id)).reference).toBe(reference);
  });

  it('a till sends CustomerBuyGoodsOnline with the till as PartyB and the store number as BusinessShortCode', async () => {
    const { double, relay } = await start({ till: '5566778' }, { DARAJA_TRANSACTION_TYPE: 'CustomerBuyGoodsOnline', DARAJA_PARTY_B: '5566778' });
    expect((await waitFinal(relay, await create(relay, { phone: PAID }))).status).toBe('succeeded');
    expect(double.pushes()[0]).toMatchObject({ TransactionType: 'CustomerBuyGoodsOnline', PartyB: '5566778', BusinessShortCode: '174379' });
  });

  it('never shows the consumer secret or the passkey in a payment view or a callback answer', async () => {
    const { double, relay } = await start();
    const id = await create(relay, { phone: PAID });
    expect((await waitFinal(relay, id)).status).toBe('succeeded');
    const failedId = await create(relay, { phone: '0700000001' });
    expect((await waitFinal(relay, failedId)).status).toBe('failed');
    await recordedVerdicts(relay.app.store, id, 1);
    const [callback] = await relay.app.store.callbacksFor(id);
    const answer = await relay.app.inject({
      method: 'POST',
      url: `/v1/callbacks/daraja/${CALLBACK_TOKEN}`,
      headers: { 'content-type': 'application/json' },
      payload: callback!.body,
    });
    const password = String(double.pushes()[0]?.['Password']);
    const shown = [JSON.stringify(await view(relay, id)), JSON.stringify(await view(relay, failedId)), answer.body].join('\n');
    for (const secret of [SECRET, PASSKEY, password]) expect(shown).not.toContain(secret);
    expect(answer.json()).toMatchObject({ verdict: 'duplicate' });
  });
});

describe("Daraja's token endpoint in trouble", () => {
  it('a push whose token request is answered 500 was never sent: tried again, then failed as provider_error, with no push and no prompt', async () => {
    let tokenRequests = 0;
    let pushes = 0;
    const troubled = await startHttpDouble((app) => {
      app.get('/oauth/v1/generate', async (_request, reply) => {
        tokenRequests++;
        return reply.code(500).send({ requestId: 'r-1', errorCode: '500.003.1001', errorMessage: 'Internal Server Error' });
      });
      app.post('/mpesa/stkpush/v1/processrequest', async () => {
        pushes++;
        return { CheckoutRequestID: 'ws_CO_never', ResponseCode: '0' };
      });
    });
    try {
      relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(envFor(troubled.url)))], callbackToken: CALLBACK_TOKEN });
      const payment = await waitFinal(relay, await create(relay, { phone: PAID }), 10_000);
      expect(payment.status).toBe('failed');
      expect(payment.failure.code).toBe('provider_error');
      // The service's own retries (the push never left): the first try and two more.
      expect(tokenRequests).toBe(3);
      expect(pushes).toBe(0);
    } finally {
      await troubled.close();
    }
  });

  type TokenAnswer = 'error 500' | 'too slow' | 'throttled' | 'refused keys 400' | 'refused keys 401' | 'not found 404' | 'no token';
  /** What the settings check (`/readyz`) concludes on a relay that holds no token yet. */
  async function settingsCheckWhenTokenEndpoint(answer: TokenAnswer) {
    const endpoint = await startHttpDouble((app) => {
      app.get('/oauth/v1/generate', async (_request, reply) => {
        switch (answer) {
          case 'error 500':
            return reply.code(500).send({ requestId: 'r-1', errorCode: '500.003.1001', errorMessage: 'Internal Server Error' });
          case 'too slow':
            await new Promise((resolve) => setTimeout(resolve, 3_000));
            return { access_token: 'late', expires_in: '3599' };
          case 'throttled':
            return reply.code(429).send({ fault: { faultstring: 'Spike arrest violation' } });
          case 'refused keys 400':
            return reply.code(400).send({ errorCode: '400.008.01', errorMessage: 'Invalid Authentication passed' });
          case 'refused keys 401':
            return reply.code(401).send({ errorCode: '401.002.01', errorMessage: 'Error Occurred - Invalid Access Token' });
          case 'not found 404':
            return reply.code(404).send('<html>Not Found</html>');
          case 'no token':
            return reply.type('text/html').send('<html>Welcome</html>');
        }
      });
    });
    try {
      const daraja = new DarajaProvider({ baseUrl: endpoint.url, ...KEYS, transactionType: 'CustomerPayBillOnline', partyB: KEYS.shortcode, timeoutMs: 100 });
      return { problem: await daraja.checkSettings(), url: endpoint.url };
    } finally {
      await endpoint.close();
    }
  }

  it.each(['error 500', 'too slow', 'throttled'] as const)('finds the settings usable when the token endpoint is in trouble (%s): that says nothing about them, so /readyz stays ready', async (answer) => {
    expect((await settingsCheckWhenTokenEndpoint(answer)).problem).toBeUndefined();
  });

  it.each(['refused keys 400', 'refused keys 401'] as const)('names the keys when Daraja refuses them (%s)', async (answer) => {
    expect((await settingsCheckWhenTokenEndpoint(answer)).problem).toMatch(/^Daraja refused the consumer key and secret \(HTTP 40[01]\): check DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET$/);
  });

  it.each(['not found 404', 'no token'] as const)("names DARAJA_BASE_URL when a server that is not Daraja's answers the token request (%s)", async (answer) => {
    const { problem, url } = await settingsCheckWhenTokenEndpoint(answer);
    expect(problem).toMatch(new RegExp(`^${url.replace(/[./]/g, '\\$&')} answered the token request (with HTTP 404|without an access token): check DARAJA_BASE_URL$`));
  });
});

describe('Daraja answers that echo the request', () => {
  it('keeps neither the bearer token nor the Password (nor the keys) from an error that echoes the request, in the log, the payment or its failure', async () => {
    // A gateway before Daraja (or Daraja) answering a push with its error shape, quoting back the
    // request it got: its Authorization header and its body, Password included.
    const token = 'DTOKENsecret4xx';
    const echoes = await startHttpDouble((app) => {
      app.get('/oauth/v1/generate', async () => ({ access_token: token, expires_in: '3599' }));
      app.post('/mpesa/stkpush/v1/processrequest', async (request, reply) =>
        reply.code(400).send({ requestId: 'r-1', errorCode: '400.002.02', errorMessage: `Bad Request - ECHO auth=${request.headers.authorization} body=${JSON.stringify(request.body)}` }),
      );
    });
    const chunks: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) });
    try {
      relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(envFor(echoes.url)))], callbackToken: CALLBACK_TOKEN, logger: { level: 'info' }, logStream });
      const id = await create(relay, { phone: PAID });
      const payment = await waitFinal(relay, id);
      expect(payment.status).toBe('failed');
      const secret = relay.app.merchants.byId('demo')!.secretKeys[0]!;
      const list = await relay.app.inject({ method: 'GET', url: '/v1/payments', headers: { authorization: `Bearer ${secret}` } });
      const stored = await relay.app.store.getPayment(id);
      const password = Buffer.from(`174379${PASSKEY}`).toString('base64');
      const kept = [chunks.join(''), JSON.stringify(payment), list.body, JSON.stringify(stored)].join('\n');
      expect(kept).toContain('400.002.02');
      for (const leaked of [token, password.slice(0, 24), SECRET, PASSKEY]) expect(kept).not.toContain(leaked);
    } finally {
      await echoes.close();
    }
  });
});

describe('Daraja settings and formats', () => {
  it('reads a paid callback whose metadata has an item without a value (Balance: null), keeping the receipt and amount', () => {
    const body = { Body: { stkCallback: { MerchantRequestID: 'm', CheckoutRequestID: 'ws_CO_1', ResultCode: 0, ResultDesc: 'ok', CallbackMetadata: { Item: [{ Name: 'Amount', Value: 10 }, { Name: 'MpesaReceiptNumber', Value: 'NLJ7RT61SV' }, { Name: 'Balance', Value: null }, { Name: 'TransactionDate', Value: 20191219102115 }, { Name: 'PhoneNumber', Value: 254708374149 }] } } } };
    expect(parseStkCallback(body)).toMatchObject({ kind: 'status', providerRef: 'ws_CO_1', update: { status: 'succeeded', receipt: 'NLJ7RT61SV', amount: 10 } });
    const noValues = { Body: { stkCallback: { ...body.Body.stkCallback, CallbackMetadata: { Item: [{ Name: 'Amount', Value: null }, { Name: 'MpesaReceiptNumber', Value: null }] } } } };
    const parsed = parseStkCallback(noValues);
    expect(parsed).toMatchObject({ kind: 'status', update: { status: 'succeeded' } });
    expect(parsed.kind === 'status' && parsed.update).toEqual({ status: 'succeeded' });
  });

  it('kenyaTimestamp writes Kenya time (UTC+3), and parseKenyaTimestamp reads it back', () => {
    expect(kenyaTimestamp(Date.UTC(2019, 11, 19, 7, 21, 15))).toBe('20191219102115');
    expect(kenyaTimestamp(Date.UTC(2024, 11, 31, 22, 30, 0))).toBe('20250101013000');
    expect(parseKenyaTimestamp('20250101013000')).toBe(Date.UTC(2024, 11, 31, 22, 30, 0));
    expect(parseKenyaTimestamp('20241332000000')).toBeUndefined();
  });

  it('a missing DARAJA_PASSKEY stops start-up with a ConfigError naming it', () => {
    const env = envFor('https://sandbox.safaricom.co.ke', { DARAJA_PASSKEY: '' });
    expect(() => darajaFromEnv(env)).toThrow(ConfigError);
    expect(() => darajaFromEnv(env)).toThrow(/^DARAJA_PASSKEY is missing/);
  });

  it('a till without DARAJA_PARTY_B stops start-up with a ConfigError naming it', () => {
    const env = envFor('https://sandbox.safaricom.co.ke', { DARAJA_TRANSACTION_TYPE: 'CustomerBuyGoodsOnline' });
    expect(() => darajaFromEnv(env)).toThrow(ConfigError);
    expect(() => darajaFromEnv(env)).toThrow(/^DARAJA_PARTY_B is missing/);
  });

  it('an unknown DARAJA_TRANSACTION_TYPE is refused with what it expects', () => {
    expect(() => darajaFromEnv(envFor('https://sandbox.safaricom.co.ke', { DARAJA_TRANSACTION_TYPE: 'PayBill' }))).toThrow(/^DARAJA_TRANSACTION_TYPE must be CustomerPayBillOnline/);
  });

  it('is registered as the daraja provider, with the sandbox URL by default', () => {
    const { DARAJA_BASE_URL: _url, ...env } = envFor('unused');
    expect(providerFromEnv('daraja', env).name).toBe('daraja');
  });

  it("calls result 8 (the till or paybill over its balance limit) a refusal, not the customer's funds", () => {
    expect(statusFromResultCode(8, 'Over till/paybill balance limit')).toMatchObject({ status: 'failed', code: 'rejected' });
    expect(statusFromResultCode(1, 'The balance is insufficient for the transaction.')).toMatchObject({ status: 'failed', code: 'insufficient_funds' });
  });

  it('a query answering 4999 (still under processing) keeps the payment pending', () => {
    expect(statusFromResultCode(4999, 'The transaction is still under processing')).toEqual({ status: 'pending' });
  });
});
