import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { ConfigError } from '../config.js';
import { FAILURE_NUMBERS, startHttpDouble } from '../testing/doubles/http-double.js';
import { startUpesiPayDouble } from '../testing/doubles/upesipay.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { recordedVerdicts } from '../testing/until.js';
import { ProviderHttpError } from './http.js';
import { providerFromEnv } from './index.js';
import type { PushRequest } from './types.js';
import { UpesiPayProvider, upesipayFromEnv } from './upesipay.js';

const TOKEN = 'dXBlc2ktZGVtbzpzM2NyM3QtdG9rZW4tNDIx';
const CHANNEL = 2133;
const CALLBACK_TOKEN = 'upesipay-callback-token-0123';

/** Relays and doubles a test started, closed after it, newest first. */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

function track<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

function adapterFor(url: string, token = TOKEN): UpesiPayProvider {
  return upesipayFromEnv({ UPESIPAY_BASE_URL: url, UPESIPAY_AUTH_TOKEN: token, UPESIPAY_CHANNEL_ID: String(CHANNEL) });
}

/** The UpesiPay double, the unchanged adapter pointed at it, and a real relay around both. */
async function start(options: { delayMs?: number; pushAnswerDelayMs?: number; promptWindowMs?: number; token?: string } = {}) {
  const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL, delayMs: options.delayMs ?? 100, ...(options.pushAnswerDelayMs ? { pushAnswerDelayMs: options.pushAnswerDelayMs } : {}) }));
  const relay = track(await startRelay({
    merchants: [demoMerchant(adapterFor(upesi.url, options.token))],
    callbackToken: CALLBACK_TOKEN,
    checkSchedule: { promptWindowMs: options.promptWindowMs ?? 200 },
    reconcileTickMs: 50,
  }));
  return { upesi, relay };
}

async function pay(r: StartedRelay, phone: string, amount = 120): Promise<string> {
  const created = await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount, phone } });
  expect(created.statusCode).toBe(201);
  return (created.json() as { id: string }).id;
}

async function view(r: StartedRelay, id: string) {
  return (await r.app.inject({ method: 'GET', url: `/v1/payments/${id}` })).json();
}

const settled = (r: StartedRelay, id: string, timeoutMs = 5_000) =>
  until(() => view(r, id), (payment) => payment.status === 'succeeded' || payment.status === 'failed', timeoutMs);

const verdicts = (r: StartedRelay, id: string, atLeast = 0) => recordedVerdicts(r.app.store, id, atLeast);

const postCallback = (r: StartedRelay, body: unknown) =>
  r.app.inject({ method: 'POST', url: `/v1/callbacks/upesipay/${CALLBACK_TOKEN}`, payload: body as object });

describe('UpesiPay behind a real relay', () => {
  it('a paid prompt ends succeeded with its M-Pesa receipt, after exactly one prompt sent to the 07… number', async () => {
    const { upesi, relay } = await start();
    const id = await pay(relay, '+254 708 374 149', 120);
    const payment = await settled(relay, id);
    expect(payment).toMatchObject({ status: 'succeeded', receipt: upesi.transactions[0]?.receipt });
    expect(upesi.prompts).toBe(1);
    expect(upesi.pushes).toEqual([
      {
        authorization: `Basic ${TOKEN}`,
        body: {
          amount: 120,
          phone_number: '0708374149',
          channel_id: CHANNEL,
          provider: 'm-pesa',
          external_reference: id,
          callback_url: `${relay.url}/v1/callbacks/upesipay/${CALLBACK_TOKEN}`,
        },
      },
    ]);
  });

  it('with no callback at all, the status query by reference finds it paid', async () => {
    const { upesi, relay } = await start();
    const id = await pay(relay, '0700000005');
    const payment = await settled(relay, id);
    const tx = upesi.transactions[0]!;
    expect(payment).toMatchObject({ status: 'succeeded', receipt: tx.receipt });
    expect(upesi.callbacks).toEqual([]);
    expect(upesi.statusQueries).toContain(tx.reference);
    expect((await relay.app.store.eventsAfter(id, 0)).at(-1)?.source).toBe('query');
  });

  it.each(['0700000001', '0700000002', '0700000003', '0700000004'])('a prompt to %s that is not paid ends failed, after one prompt', async (phone) => {
    const { upesi, relay } = await start();
    const payment = await settled(relay, await pay(relay, phone));
    expect(payment.status).toBe('failed');
    expect(upesi.prompts).toBe(1);
  });

  it("a push answered 500 whose prompt was delivered is never sent again; its paid callback, which nothing but its own word ties to the payment, holds it for review: UpesiPay's answer about the receipt names neither the payment nor the amount", async () => {
    const { upesi, relay } = await start();
    const id = await pay(relay, '0700000008');
    await until(() => relay.app.store.getPayment(id), (payment) => payment?.reviewReason != null, 8_000);
    const tx = upesi.transactions[0]!;
    const payment = (await relay.app.store.getPayment(id))!;
    expect(payment.status).not.toBe('succeeded');
    expect(payment.receipt).toBeNull();
    expect(payment.reviewReason).toContain(`M-Pesa transaction ${tx.receipt}, which upesipay reports paid`);
    expect(upesi.pushes).toHaveLength(1);
    expect(upesi.prompts).toBe(1);
    // The callback has no `reference`; UpesiPay's status query also takes the M-Pesa code.
    expect(upesi.statusQueries).toContain(tx.receipt);
  });

  it("a customer who pays before the push's own answer has come (UpesiPay slow to answer) ends succeeded once the answer brings the reference, not held for review", async () => {
    const { upesi, relay } = await start({ delayMs: 50, pushAnswerDelayMs: 1_000 });
    const id = await pay(relay, '0708374149');
    const payment = await settled(relay, id, 8_000);
    const tx = upesi.transactions[0]!;
    expect(payment).toMatchObject({ status: 'succeeded', receipt: tx.receipt });
    expect((await relay.app.store.getPayment(id))?.reviewReason).toBeNull();
    // Paid before the answer: its callback could only be confirmed once the reference came.
    expect(upesi.callbacks.map((c) => c.status)).toEqual([200]);
    expect(upesi.statusQueries).toContain(tx.reference);
    expect(upesi.prompts).toBe(1);
  });

  it("a forged callback naming a payment whose push answer was lost, with the receipt of a collection the relay never made, does not make it paid", async () => {
    const { upesi, relay } = await start({ delayMs: 60_000, promptWindowMs: 60_000 });
    // A collection on the same UpesiPay account, not through this relay (the forger's own KES 10).
    const outside = await adapterFor(upesi.url).requestPayment({ paymentId: 'not-ours', amount: 10, phone: '254708374149', reference: null, description: null, callbackUrl: 'http://127.0.0.1:9/nowhere' });
    expect(outside.kind).toBe('accepted');
    // Its customer paid (the double's customers here take a minute: paid by hand).
    const collection = upesi.transactions.find((t) => t.externalReference === 'not-ours')!;
    Object.assign(collection, { status: 'SUCCESS', receipt: 'SOUT7K2Q9D' });
    const outsideReceipt = collection.receipt!;
    // Push answered 500 (no reference stored); the customer has not answered.
    const id = await pay(relay, '0700000008', 120);
    await until(() => relay.app.store.getPayment(id), (payment) => payment?.pushState === 'sent');
    const forged = { forward_url: '', status: true, response: { Amount: 120, CheckoutRequestID: 'ws_CO_forged', ExternalReference: id, MerchantRequestID: 'x', MpesaReceiptNumber: outsideReceipt, Phone: '+254700000008', ResultCode: 0, ResultDesc: 'ok', Status: 'Success' } };
    expect((await postCallback(relay, forged)).json().verdict).toBe('unconfirmed');
    const payment = (await relay.app.store.getPayment(id))!;
    expect(payment.status).not.toBe('succeeded');
    expect(payment.receipt).toBeNull();
    expect(payment.reviewReason).toContain(outsideReceipt);
  });

  it('a push answered 429 sends no prompt and, after the relay has tried again, ends failed as rejected', async () => {
    const { upesi, relay } = await start();
    const payment = await settled(relay, await pay(relay, '0700000007'), 8_000);
    expect(payment).toMatchObject({ status: 'failed', failure: { code: 'rejected' } });
    expect(upesi.prompts).toBe(0);
  });

  it('a forged success callback changes nothing while UpesiPay still says QUEUED', async () => {
    const { upesi, relay } = await start({ delayMs: 60_000 });
    const answered = await pay(relay, '0708374149', 250);
    const lostAnswer = await pay(relay, '0700000008', 250);
    await relay.app.payments.settle();
    for (const [id, tx] of [answered, lostAnswer].map((id) => [id, upesi.transactions.find((t) => t.externalReference === id)!] as const)) {
      const before = await view(relay, id);
      const response = await postCallback(relay, upesi.callbackBody({ ...tx, receipt: 'FORGED0001' }));
      expect(response.json().verdict).not.toBe('applied');
      expect(await view(relay, id)).toMatchObject({ status: before.status, seq: before.seq });
      expect((await view(relay, id)).receipt).toBeUndefined();
    }
    // The payment without a reference was matched by ExternalReference, then not confirmed.
    expect(await verdicts(relay, lostAnswer, 1)).toEqual(['unconfirmed: query says nothing']);
  });

  it('a success callback with another amount is refused', async () => {
    const { upesi, relay } = await start({ delayMs: 60_000 });
    const id = await pay(relay, '0700000008', 250);
    await relay.app.payments.settle();
    const tx = upesi.transactions[0]!;
    const response = await postCallback(relay, upesi.callbackBody({ ...tx, amount: 1, receipt: 'SKQ96C7K7H' }));
    expect(response.statusCode).toBe(400);
    expect(response.json().verdict).toBe('rejected');
    expect((await view(relay, id)).status).toBe('pending');
    expect(await verdicts(relay, id, 1)).toEqual(['rejected: amount 1 is not 250']);
  });

  it('a push UpesiPay refuses fails with our own words: neither its text nor the auth token reaches a view or a callback answer', async () => {
    const { upesi, relay } = await start({ token: 'not-the-token' });
    const refused = await pay(relay, '0708374149');
    expect(await settled(relay, refused)).toMatchObject({ status: 'failed', failure: { code: 'provider_error' } });
    expect((await relay.app.store.getPayment(refused))?.failureMessage).not.toMatch(/Invalid authentication token/);
    expect(upesi.prompts).toBe(0);

    const seen: string[] = [JSON.stringify(await view(relay, refused))];
    const answers = [await postCallback(relay, { response: { CheckoutRequestID: 'ws_CO_1', ResultCode: 0 } }), await postCallback(relay, { Body: {} })];
    seen.push(...answers.map((answer) => answer.body));
    for (const event of await relay.app.store.eventsAfter(refused, 0)) seen.push(event.view);
    for (const text of seen) expect(text).not.toContain(TOKEN);
  });
});

/** UpesiPay callbacks never carry the `reference` stored at push: the service matches them by the echoed payment id. */

describe('UpesiPay callbacks, matched by ExternalReference', () => {
  it('a paid prompt is settled by its own callback, confirmed by the status query', async () => {
    const { upesi, relay } = await start({ promptWindowMs: 2_000 });
    const id = await pay(relay, '0708374149');
    await until(() => upesi.callbacks.length, (n) => n >= 1);
    expect(await verdicts(relay, id, 1)).toEqual(['applied']);
    expect(await view(relay, id)).toMatchObject({ status: 'succeeded', receipt: upesi.transactions[0]?.receipt });
  });

  it('a callback delivered twice gives one success event and records the second as a duplicate', async () => {
    const { upesi, relay } = await start({ promptWindowMs: 2_000 });
    const id = await pay(relay, '0700000006');
    await until(() => upesi.callbacks.length, (n) => n >= 2);
    expect(await verdicts(relay, id, 2)).toEqual(['applied', 'duplicate: already succeeded']);
    expect((await relay.app.store.eventsAfter(id, 0)).filter((e) => e.status === 'succeeded')).toHaveLength(1);
  });

  it("a callback for a push whose answer was lost, naming our id but another payment's M-Pesa receipt, does not make it paid: it is held for review", async () => {
    const { upesi, relay } = await start({ delayMs: 1_500, promptWindowMs: 60_000 });
    const other = await pay(relay, '0708374149', 500);
    await until(() => view(relay, other), (payment) => payment.status === 'succeeded', 8_000);
    const otherReceipt = upesi.transactions[0]!.receipt!;
    // Push answered 500 (no reference stored), the prompt still open on the phone.
    const id = await pay(relay, '0700000008', 120);
    await until(() => relay.app.store.getPayment(id), (payment) => payment?.pushState === 'sent');
    const forged = { forward_url: '', status: true, response: { Amount: 120, CheckoutRequestID: 'ws_CO_forged', ExternalReference: id, MerchantRequestID: 'x', MpesaReceiptNumber: otherReceipt, Phone: '+254700000008', ResultCode: 0, ResultDesc: 'ok', Status: 'Success' } };
    expect((await postCallback(relay, forged)).statusCode).toBe(200);
    const payment = await relay.app.store.getPayment(id);
    expect(payment?.status).not.toBe('succeeded');
    expect(payment?.receipt).toBeNull();
    // Held before the store's own check (a receipt another payment has) is reached: nothing ties
    // the receipt to this payment either way.
    expect(payment?.reviewReason).toContain(otherReceipt);
  });

  it("keeps the customer's reason (cancelled) when the callback could not be confirmed and the status query that later settles the failure gives none", async () => {
    const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL, delayMs: 100 }));
    // In front of UpesiPay: its status endpoint answers 503 for a while.
    let queriesFail = true;
    const front = track(
      await startHttpDouble((app) => {
        app.all('/*', async (request, reply) => {
          if (queriesFail && request.url.startsWith('/api/v2/transaction-status')) return reply.code(503).send({ detail: 'unavailable' });
          const answer = await fetch(`${upesi.url}${request.url}`, {
            method: request.method,
            headers: { authorization: request.headers.authorization ?? '', 'content-type': 'application/json' },
            ...(request.method === 'POST' ? { body: JSON.stringify(request.body) } : {}),
          });
          return reply.code(answer.status).header('content-type', 'application/json').send(await answer.text());
        });
      }),
    );
    const relay = track(await startRelay({ merchants: [demoMerchant(adapterFor(front.url))], callbackToken: CALLBACK_TOKEN, checkSchedule: { promptWindowMs: 60_000 }, reconcileTickMs: 50 }));
    const id = await pay(relay, '0700000001');
    expect(await verdicts(relay, id, 1)).toEqual(['unconfirmed: query says nothing']);
    // UpesiPay answers again; the payment's next check is made due now.
    queriesFail = false;
    await relay.app.store.updatePayment(id, { nextCheckAt: Date.now() }, 'test', Date.now());
    expect(await settled(relay, id)).toMatchObject({ status: 'failed', failure: { code: 'cancelled' } });
  });

  it.each(FAILURE_NUMBERS)('the callback of prompt %s gives the failure code %s', async (phone, code) => {
    const { upesi, relay } = await start({ promptWindowMs: 2_000 });
    const id = await pay(relay, phone);
    await until(() => upesi.callbacks.length, (n) => n >= 1);
    expect(await view(relay, id)).toMatchObject({ status: 'failed', failure: { code } });
  });
});

const push = (phone: string): PushRequest => ({
  paymentId: 'pay_test',
  amount: 100,
  phone,
  reference: null,
  description: null,
  callbackUrl: 'http://127.0.0.1:9/nowhere',
});

describe('the UpesiPay adapter on its own', () => {
  it('reads a failure callback whose Amount, Phone, receipt and ResultDesc are null, with its reason', () => {
    const adapter = new UpesiPayProvider({ baseUrl: 'http://127.0.0.1:9', authToken: TOKEN, channelId: CHANNEL });
    const body = { forward_url: '', status: false, response: { Amount: null, CheckoutRequestID: 'ws_CO_1', ExternalReference: null, MerchantRequestID: 'x', MpesaReceiptNumber: null, Phone: null, ResultCode: 1032, ResultDesc: null, Status: 'Cancelled' } };
    expect(adapter.parseCallback({ headers: {}, body, rawBody: JSON.stringify(body) })).toMatchObject({ kind: 'status', providerRef: 'ws_CO_1', update: { status: 'failed', code: 'cancelled' } });
  });

  it('throws throttled on a 429, so the relay may send the push again', async () => {
    const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL }));
    await expect(adapterFor(upesi.url).requestPayment(push('254700000007'))).rejects.toMatchObject({ kind: 'throttled' });
  });

  it('throws indeterminate on a 500, so the relay never sends the push again', async () => {
    const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL }));
    await expect(adapterFor(upesi.url).requestPayment(push('254700000008'))).rejects.toMatchObject({ kind: 'indeterminate' });
    expect(upesi.prompts).toBe(1);
  });

  it('accepts the auth token pasted with its "Basic " scheme', async () => {
    const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL }));
    const result = await adapterFor(upesi.url, `Basic ${TOKEN}`).requestPayment(push('254708374149'));
    expect(result).toEqual({ kind: 'accepted', providerRef: upesi.transactions[0]?.reference });
  });

  it('once UpesiPay blocks a phone after successive failed prompts, a push to it is refused as rejected; other phones still get prompts', async () => {
    const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL, delayMs: 10, blockAfterFailures: 2 }));
    const adapter = adapterFor(upesi.url);
    await adapter.requestPayment(push('254700000001'));
    await adapter.requestPayment(push('254700000001'));
    await until(() => upesi.transactions.every((t) => t.status === 'FAILED'), Boolean);
    expect(await adapter.requestPayment(push('254700000001'))).toMatchObject({ kind: 'refused', code: 'rejected', message: expect.stringMatching(/repeated failed prompts/) });
    expect(await adapter.requestPayment(push('254708374149'))).toMatchObject({ kind: 'accepted' });
    expect(upesi.prompts).toBe(3);
  });

  it.each([
    [401, { success: false, message: 'Invalid authentication token' }, 'provider_error'],
    [400, { success: false, message: 'Invalid phone number' }, 'rejected'],
    [201, { success: false, message: 'Phone number is blocked for 24 hours' }, 'rejected'],
  ] as const)('a push answered %i %j is refused as %s, in our own words', async (status, body, code) => {
    const stub = track(await startHttpDouble((app) => {
      app.post('/api/v2/payments', async (_request, reply) => reply.code(status).send(body));
    }));
    const result = await adapterFor(stub.url).requestPayment(push('254708374149'));
    expect(result).toMatchObject({ kind: 'refused', code });
    expect(JSON.stringify(result)).not.toContain(body.message);
  });

  it('a 2xx push answer without a reference is indeterminate: the prompt may be out', async () => {
    const stub = track(await startHttpDouble((app) => {
      app.post('/api/v2/payments', async (_request, reply) => reply.code(201).send({ success: true, status: 'QUEUED' }));
    }));
    await expect(adapterFor(stub.url).requestPayment(push('254708374149'))).rejects.toMatchObject({ kind: 'indeterminate' });
  });

  it.each([
    [{ status: 'QUEUED', provider_reference: '' }, { status: 'pending' }],
    [{ status: 'SUCCESS', provider_reference: 'SKQ96C7K7H', third_party_reference: 'SKQ96C7K7H' }, { status: 'succeeded', receipt: 'SKQ96C7K7H' }],
    [{ status: 'SUCCESS', provider_reference: '', third_party_reference: 'SKQ96C7K7H' }, { status: 'succeeded', receipt: 'SKQ96C7K7H' }],
    [{ status: 'SUCCESS', provider_reference: '6b71cb8b-638d', third_party_reference: null }, { status: 'succeeded' }],
    [{ status: 'FAILED', provider_reference: '' }, { status: 'failed', code: 'provider_error', message: expect.any(String) }],
    [{ status: 'FAILED', ResultCode: 1032, ResultDesc: 'Request cancelled by user' }, { status: 'failed', code: 'cancelled', message: 'Request cancelled by user' }],
    [{ status: 'REVERSED' }, { status: 'pending' }],
  ])('maps the status answer %j to %j', async (answer, expected) => {
    const stub = track(await startHttpDouble((app) => {
      app.get('/api/v2/transaction-status', async () => ({ success: true, reference: 'E8UWT7CLUW', ...answer }));
    }));
    expect(await adapterFor(stub.url).queryStatus('E8UWT7CLUW')).toEqual(expected);
  });

  it('asks about a reference UpesiPay does not know with an error, never a final answer', async () => {
    const upesi = track(await startUpesiPayDouble({ authToken: TOKEN, channelId: CHANNEL }));
    await expect(adapterFor(upesi.url).queryStatus('NOSUCHREF0')).rejects.toBeInstanceOf(ProviderHttpError);
  });

  const documentedCallback = {
    forward_url: '',
    response: {
      Amount: 10,
      CheckoutRequestID: 'ws_CO_02012026103543427709099876',
      ExternalReference: 'INV-009',
      MerchantRequestID: '3202-70921557-1',
      MpesaReceiptNumber: 'SAE3YULR0Y',
      Phone: '+254709099876',
      ResultCode: 0,
      ResultDesc: 'The service request is processed successfully.',
      Status: 'Success',
    },
    status: true,
  };
  const parse = (body: unknown) => adapterFor('http://127.0.0.1:9').parseCallback({ headers: {}, body, rawBody: JSON.stringify(body) });

  it('reads the documented paid callback: receipt as its reference, our id from ExternalReference, phone and amount to match', () => {
    expect(parse(documentedCallback)).toEqual({
      kind: 'status',
      providerRef: 'SAE3YULR0Y',
      update: { status: 'succeeded', receipt: 'SAE3YULR0Y', amount: 10 },
      paymentId: 'INV-009',
      refIsTransaction: true,
      match: { phone: '254709099876', amount: 10 },
    });
  });

  it('reads a failed callback by its Daraja result code, referenced by its CheckoutRequestID', () => {
    const { MpesaReceiptNumber: _, ...paid } = documentedCallback.response;
    const parsed = parse({ ...documentedCallback, status: false, response: { ...paid, ResultCode: 1032, ResultDesc: 'Request cancelled by user', Status: 'Failed' } });
    expect(parsed).toMatchObject({ kind: 'status', providerRef: 'ws_CO_02012026103543427709099876', update: { status: 'failed', code: 'cancelled' }, paymentId: 'INV-009' });
  });

  it.each([{}, 'Success', { response: { ResultCode: 0 } }, { Body: { stkCallback: { CheckoutRequestID: 'ws_CO_1', ResultCode: 0 } } }])(
    'rejects a body that is not an UpesiPay callback: %j',
    (body) => expect(parse(body)).toMatchObject({ kind: 'reject' }),
  );
});

describe('UpesiPay settings', () => {
  it.each([
    [{ UPESIPAY_CHANNEL_ID: '2133' }, /^UPESIPAY_AUTH_TOKEN is missing/],
    [{ UPESIPAY_AUTH_TOKEN: 'token' }, /^UPESIPAY_CHANNEL_ID is missing/],
    [{ UPESIPAY_AUTH_TOKEN: 'token', UPESIPAY_CHANNEL_ID: 'channel-2133' }, /^UPESIPAY_CHANNEL_ID must be .*digits/],
    [{ UPESIPAY_AUTH_TOKEN: 'token', UPESIPAY_CHANNEL_ID: '2133', UPESIPAY_BASE_URL: 'upesipay.com' }, /^UPESIPAY_BASE_URL must be/],
  ])('stops with one line naming the setting: %j', (env, message) => {
    expect(() => upesipayFromEnv(env)).toThrow(ConfigError);
    expect(() => upesipayFromEnv(env)).toThrow(message);
  });

  it('is the provider named upesipay, on the live URL by default', () => {
    const provider = providerFromEnv('upesipay', { UPESIPAY_AUTH_TOKEN: 'token', UPESIPAY_CHANNEL_ID: '2133' }) as UpesiPayProvider;
    expect(provider.name).toBe('upesipay');
    expect(provider.baseUrl).toBe('https://upesipay.com');
  });
});
