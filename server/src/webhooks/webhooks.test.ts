import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import type { Merchant } from '../merchants.js';
import { newPaymentId } from '../payments/service.js';
import { Poller } from '../poller.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { startHangingEndpoint } from '../testing/hanging-endpoint.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';
import { DEFAULT_WEBHOOK_RETRY, WebhookDeliverer, fewestAttemptsBeforeGivingUp, webhookRetryDelay } from './deliverer.js';
import { signWebhook, verifyWebhook } from './signature.js';

const SECRET = 'sk_test_webhooks_0123456789ab';

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
}

/** A merchant's webhook endpoint on 127.0.0.1 that fails its first `failures` requests with 500. */
async function merchantServer(failures: number): Promise<{ url: string; received: Received[]; answered: number[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const answered: number[] = [];
  let seen = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen += 1;
      const status = seen <= failures ? 500 : 200;
      answered.push(status);
      if (status === 200) received.push({ body, headers: request.headers });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hooks/stk-pay`, received, answered, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function merchant(webhookUrl: string): Merchant {
  return { ...demoMerchant(new SandboxProvider({ delayMs: 50 }), [], SECRET), webhookUrl };
}

const fast = { webhookTickMs: 20, webhookRetry: { firstRetryMs: 50, maxRetryMs: 200 } };

async function payAndSettle(relay: StartedRelay, phone = '0708374149') {
  const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone, reference: 'INV-9' } });
  return created.json().id as string;
}

let relay: StartedRelay | undefined;
let hooks: Awaited<ReturnType<typeof merchantServer>> | undefined;
afterEach(async () => {
  await relay?.close();
  await hooks?.close();
  relay = undefined;
  hooks = undefined;
});

describe('merchant webhooks', () => {
  it('POSTs the paid payment, signed, verifiable with the secret key, with an event id', async () => {
    hooks = await merchantServer(0);
    relay = await startRelay({ merchants: [merchant(hooks.url)], ...fast });
    const id = await payAndSettle(relay);
    await until(() => hooks!.received.length === 1);
    const [delivery] = hooks.received;
    const verdict = verifyWebhook(delivery!.body, delivery!.headers['stk-pay-signature'] as string, SECRET);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.event).toMatchObject({ type: 'payment.succeeded', data: { id, status: 'succeeded', amount: 250, phone: '254708374149', reference: 'INV-9' } });
    expect(delivery!.headers['stk-pay-event-id']).toBe(verdict.event.id);
    expect(verdict.event.data['receipt']).toMatch(/^[A-Z0-9]{10}$/);
  });

  it('signs with every secret key while keys are rotated, so a backend verifying with the old key or the new one alone accepts it', async () => {
    const NEW = 'sk_test_webhooks_rotated_new_0001';
    hooks = await merchantServer(0);
    relay = await startRelay({ merchants: [{ ...merchant(hooks.url), secretKeys: [NEW, SECRET] }], ...fast });
    await payAndSettle(relay);
    await until(() => hooks!.received.length === 1);
    const [delivery] = hooks.received;
    const header = delivery!.headers['stk-pay-signature'] as string;
    expect(verifyWebhook(delivery!.body, header, SECRET).ok).toBe(true);
    expect(verifyWebhook(delivery!.body, header, NEW).ok).toBe(true);
    expect(verifyWebhook(delivery!.body, header, 'sk_test_some_other_key_0000').ok).toBe(false);
  });

  it('sends payment.failed for a failed payment', async () => {
    hooks = await merchantServer(0);
    relay = await startRelay({ merchants: [merchant(hooks.url)], ...fast });
    await payAndSettle(relay, '0700000001');
    await until(() => hooks!.received.length === 1);
    expect(JSON.parse(hooks.received[0]!.body)).toMatchObject({ type: 'payment.failed', data: { status: 'failed', failure: { code: 'cancelled' } } });
  });

  it('retries while the merchant fails, then delivers exactly once', async () => {
    hooks = await merchantServer(3);
    relay = await startRelay({ merchants: [merchant(hooks.url)], ...fast });
    const id = await payAndSettle(relay);
    await until(() => hooks!.received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.answered).toEqual([500, 500, 500, 200]);
    const [delivery] = await relay.app.store.webhookDeliveries(id);
    expect(delivery).toMatchObject({ attempts: 4, nextAttemptAt: null, lastError: null });
    expect(delivery?.deliveredAt).toEqual(expect.any(Number));
  });

  it('is not abandoned when the clock steps forward past the give-up age: only after the attempts the schedule makes in that time', async () => {
    hooks = await merchantServer(1_000_000);
    const policy = { ...DEFAULT_WEBHOOK_RETRY, firstRetryMs: 50, maxRetryMs: 100, giveUpAfterMs: 1_000 };
    // The relay's own deliverer idle; this one's clock can step, and its batches are run by hand.
    relay = await startRelay({ merchants: [merchant(hooks.url)], webhookTickMs: 3_600_000 });
    let step = 0;
    const deliverer = new WebhookDeliverer(relay.app.store, relay.app.merchants, policy, relay.app.log, relay.app.metrics, () => Date.now() + step);
    const id = await payAndSettle(relay);
    const delivery = async () => (await relay!.app.store.webhookDeliveries(id))[0];
    const runUntil = (done: () => Promise<boolean>, what: string) =>
      until(async () => {
        await deliverer.deliverDue();
        await deliverer.settle();
        return done();
      }, what);
    await runUntil(async () => (await delivery())?.attempts === 1, 'the first attempt');

    // A host that booted days behind: NTP steps the clock forward.
    step = 3 * 24 * 3600_000;
    await runUntil(async () => (await delivery())?.nextAttemptAt === null, 'the delivery abandoned');
    expect(fewestAttemptsBeforeGivingUp(policy)).toBe(9);
    expect((await delivery())?.attempts).toBe(9);
    expect(hooks.answered).toHaveLength(9);
  });

  it('keeps retrying across a relay restart and delivers once the merchant recovers', async () => {
    hooks = await merchantServer(1_000_000);
    const first = await startRelay({ merchants: [merchant(hooks.url)], ...fast });
    const id = await payAndSettle(first);
    await until(async () => ((await first.app.store.webhookDeliveries(id))[0]?.attempts ?? 0) >= 2);
    await first.app.close();
    await hooks.close();

    // The merchant's server comes back on another port; the merchants file is updated with it.
    hooks = await merchantServer(0);
    relay = await startRelay({ dbPath: first.dbPath, merchants: [merchant(hooks.url)], ...fast });
    await until(() => hooks!.received.length === 1);
    expect(JSON.parse(hooks.received[0]!.body).data.id).toBe(id);
    const [delivery] = await relay.app.store.webhookDeliveries(id);
    expect(delivery?.deliveredAt).toEqual(expect.any(Number));
  });

  it("settles no payment of a merchant missing from the merchants file on a callback's word, and sends its webhook once the merchant is back", async () => {
    hooks = await merchantServer(0);
    const other = (delayMs: number): Merchant => ({
      ...demoMerchant(new SandboxProvider({ delayMs }), [], 'sk_test_other_0123456789abcd'),
      id: 'other',
      name: 'Other shop',
      publishableKeys: ['pk_test_other0001'],
      webhookUrl: hooks!.url,
    });
    const shop = demoMerchant(new SandboxProvider({ delayMs: 60_000 }), [], SECRET);
    const schedule = { ...fast, checkSchedule: { promptWindowMs: 100 }, reconcileTickMs: 50 };
    const first = await startRelay({ merchants: [shop, other(60_000)], ...fast });
    const created = await first.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_other0001' }, payload: { amount: 250, phone: '0708374149', reference: 'INV-9' } });
    const id = created.json().id as string;
    await until(async () => (await first.app.store.getPayment(id))?.status === 'awaiting_customer');
    const { providerRef } = (await first.app.store.getPayment(id))!;
    await first.app.close();

    // Restarted with the merchant left out of the file by a slip; the provider's callback comes.
    // (The other merchant's sandbox, which the callback route has at hand, would call it paid.)
    const slipped = await startRelay({ dbPath: first.dbPath, merchants: [demoMerchant(new SandboxProvider({ delayMs: 50 }), [], SECRET)], ...schedule, callbackToken: 'cb-token-missing-merchant-0001' });
    const callback = await slipped.app.inject({
      method: 'POST',
      url: '/v1/callbacks/sandbox/cb-token-missing-merchant-0001',
      payload: { Body: { stkCallback: { MerchantRequestID: 'm-1', CheckoutRequestID: providerRef, ResultCode: 0, ResultDesc: 'ok', CallbackMetadata: { Item: [{ Name: 'Amount', Value: 250 }, { Name: 'MpesaReceiptNumber', Value: 'SBX1234567' }, { Name: 'PhoneNumber', Value: 254708374149 }] } } } },
    });
    expect(callback.json()).toMatchObject({ verdict: 'unconfirmed' });
    expect((await slipped.app.store.getPayment(id))?.status).toBe('awaiting_customer');
    await slipped.app.close();

    // The merchant is back: its own provider settles the payment, and its webhook goes out.
    relay = await startRelay({ dbPath: first.dbPath, merchants: [shop, other(50)], ...schedule });
    await until(() => hooks!.received.length === 1, 'the webhook of the payment', 8_000);
    expect(JSON.parse(hooks.received[0]!.body)).toMatchObject({ type: 'payment.succeeded', data: { id } });
  });

  it('sends the user and password of a webhook URL as Basic authorization, and never writes the password down', async () => {
    hooks = await merchantServer(0);
    const withCredentials = hooks.url.replace('http://', 'http://hook%20user:s3cret%40pass@');
    const chunks: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) });
    relay = await startRelay({ merchants: [merchant(withCredentials)], ...fast, logger: { level: 'info' }, logStream });
    await payAndSettle(relay);
    await until(() => hooks!.received.length === 1);
    expect(hooks.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('hook user:s3cret@pass').toString('base64')}`);

    // The same merchant's endpoint gone: the failure is recorded with its cause, without the password.
    const gone = hooks.url;
    await hooks.close();
    hooks = undefined;
    const id = await payAndSettle(relay, '0700000001');
    await until(async () => ((await relay!.app.store.webhookDeliveries(id))[0]?.attempts ?? 0) >= 1);
    const [failed] = await relay.app.store.webhookDeliveries(id);
    expect(failed?.lastError).toBe('could not deliver: fetch failed (ECONNREFUSED)');
    expect(chunks.join('')).toContain('merchant webhook failed');
    for (const secret of ['s3cret', 'hook user', 'hook%20user']) expect(chunks.join('').includes(secret), secret).toBe(false);
    expect(gone).not.toContain('s3cret');
  });

  it('keeps the webhook of a merchant missing from the merchants file due, and delivers it once the merchant is back', async () => {
    hooks = await merchantServer(1_000_000);
    const first = await startRelay({ merchants: [merchant(hooks.url)], ...fast });
    const id = await payAndSettle(first);
    await until(async () => ((await first.app.store.webhookDeliveries(id))[0]?.attempts ?? 0) >= 1);
    await first.app.close();

    // Restarted with the merchant left out of the file by a slip.
    const other: Merchant = { ...merchant(hooks.url), id: 'someone-else', publishableKeys: ['pk_test_someone_else'] };
    const second = await startRelay({ dbPath: first.dbPath, merchants: [other], ...fast });
    await until(async () => (await second.app.store.webhookDeliveries(id))[0]?.lastError === 'merchant no longer configured');
    expect((await second.app.store.webhookDeliveries(id))[0]).toMatchObject({ deliveredAt: null, nextAttemptAt: expect.any(Number) });
    await second.app.close();
    await hooks.close();

    // The file mended: delivered.
    hooks = await merchantServer(0);
    relay = await startRelay({ dbPath: first.dbPath, merchants: [merchant(hooks.url)], ...fast });
    await until(() => hooks!.received.length === 1);
    expect(JSON.parse(hooks.received[0]!.body).data.id).toBe(id);
  });

  it("delivers a merchant's webhooks while another merchant's endpoint hangs with many due", async () => {
    // Shop A's endpoint takes every request and never answers (until the test ends).
    const hanging = await startHangingEndpoint();
    const { held } = hanging;
    hooks = await merchantServer(0);
    const shopA: Merchant = { ...merchant(hanging.url), id: 'shop-a', publishableKeys: ['pk_test_shop_a'] };
    const shopB: Merchant = { ...merchant(hooks.url), id: 'shop-b', publishableKeys: ['pk_test_shop_b'] };
    try {
      relay = await startRelay({ merchants: [shopA, shopB], ...fast });
      const { store } = relay.app;
      // Forty of A's payments finished, their webhooks due, before B's one.
      const finish = async (merchantId: string, i: number) => {
        const { payment } = await store.createPayment({ id: newPaymentId(), merchantId, amount: 250, reference: null, description: null, phone: `2547083741${String(i).padStart(2, '0')}`, provider: 'sandbox', idempotencyKey: null, requestHash: null, nextCheckAt: null }, Date.now());
        await store.updatePayment(payment.id, { status: 'succeeded', receipt: `RCPT${String(i).padStart(6, '0')}` }, 'callback', Date.now());
        return payment.id;
      };
      for (let i = 0; i < 40; i++) await finish('shop-a', i);
      const paidAtB = await finish('shop-b', 99);
      await until(() => hooks!.received.length === 1, "B's webhook delivered");
      expect(JSON.parse(hooks.received[0]!.body).data.id).toBe(paidAtB);
      // Meanwhile A's endpoint holds its share, and not one of A's attempts has ended.
      expect(held.length).toBeGreaterThan(0);
      expect(held.length).toBeLessThanOrEqual(8);
      expect(held.every((response) => !response.writableEnded)).toBe(true);
    } finally {
      await hanging.close();
    }
  });

  it('keeps at most 8 attempts in flight to one merchant, also when its webhooks fall due a few at a time between batches', async () => {
    const hanging = await startHangingEndpoint();
    try {
      // The relay's own deliverer idle (its batches come an hour apart); this one's batches are run by hand.
      relay = await startRelay({ merchants: [merchant(hanging.url)], webhookTickMs: 3_600_000 });
      const { store, merchants, metrics } = relay.app;
      const deliverer = new WebhookDeliverer(store, merchants, { ...DEFAULT_WEBHOOK_RETRY, ...fast.webhookRetry }, relay.app.log, metrics);
      let n = 0;
      const finish = async (count: number) => {
        for (let i = 0; i < count; i++, n++) {
          const { payment } = await store.createPayment({ id: newPaymentId(), merchantId: 'demo', amount: 250, reference: null, description: null, phone: `2547083741${String(n).padStart(2, '0')}`, provider: 'sandbox', idempotencyKey: null, requestHash: null, nextCheckAt: null }, Date.now());
          await store.updatePayment(payment.id, { status: 'succeeded' }, 'callback', Date.now());
        }
      };
      await finish(3);
      expect(await deliverer.deliverDue()).toBe(3);
      await finish(10);
      expect(await deliverer.deliverDue()).toBe(5);
      expect(await deliverer.deliverDue()).toBe(0);
      await until(() => hanging.held.length === 8, 'eight attempts at the endpoint');
      deliverer.abortInFlight();
      await deliverer.settle();
    } finally {
      await hanging.close();
    }
  });

  it("delivers a merchant's backlog as fast as its endpoint answers, 8 at a time, not 8 per tick", async () => {
    hooks = await merchantServer(0);
    // The relay's own deliverer idle; this one's poller ticks once an hour, so only the ends of
    // attempts can start the next ones.
    relay = await startRelay({ merchants: [merchant(hooks.url)], webhookTickMs: 3_600_000 });
    const ids: string[] = [];
    // The sandbox's paying number (unguarded: it may repeat).
    for (let i = 0; i < 30; i++) ids.push(await payAndSettle(relay));
    await until(async () => (await Promise.all(ids.map(async (id) => (await relay!.app.store.getPayment(id))?.status))).every((status) => status === 'succeeded'), 'every payment paid', 20_000);
    const deliverer = new WebhookDeliverer(relay.app.store, relay.app.merchants, DEFAULT_WEBHOOK_RETRY, relay.app.log, relay.app.metrics);
    const poller = new Poller('webhooks-under-test', (limit) => deliverer.deliverDue(limit), { tickMs: 3_600_000 }, relay.app.log);
    deliverer.onRoom = () => poller.poke();
    poller.start();
    try {
      await until(() => hooks!.received.length === 30, 'all 30 webhooks delivered', 10_000);
    } finally {
      await poller.stop();
      await deliverer.settle();
    }
  });

  it('gives up an attempt at its deadline even after a garbage collection (an endpoint that never answers)', async () => {
    const hanging = await startHangingEndpoint();
    try {
      relay = await startRelay({ merchants: [merchant(hanging.url)], webhookTickMs: 3_600_000 });
      const id = await payAndSettle(relay);
      await until(async () => (await relay!.app.store.getPayment(id))?.status === 'succeeded', 'the payment paid');
      const deliverer = new WebhookDeliverer(relay.app.store, relay.app.merchants, { ...DEFAULT_WEBHOOK_RETRY, attemptTimeoutMs: 300 }, relay.app.log, relay.app.metrics);
      expect(await deliverer.deliverDue()).toBe(1);
      await until(() => hanging.held.length === 1, 'the attempt at the endpoint');
      // On Node 20 a timeout signal combined with AbortSignal.any() was only weakly held.
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
      await until(async () => (await relay!.app.store.webhookDeliveries(id))[0]?.attempts === 1, 'the attempt given up', 3_000);
      const [delivery] = await relay.app.store.webhookDeliveries(id);
      expect(delivery?.lastError).toMatch(/no answer within 0.3 s/);
      expect(delivery?.nextAttemptAt).toEqual(expect.any(Number));
    } finally {
      await hanging.close();
    }
  });

  it('retries, and records why, a webhook whose URL cannot be used (a % in its password that is no escape)', async () => {
    hooks = await merchantServer(0);
    const broken = hooks.url.replace('http://', 'http://shop:50%off@');
    relay = await startRelay({ merchants: [merchant(broken)], webhookTickMs: 3_600_000 });
    const id = await payAndSettle(relay);
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'succeeded', 'the payment paid');
    const deliverer = new WebhookDeliverer(relay.app.store, relay.app.merchants, DEFAULT_WEBHOOK_RETRY, relay.app.log, relay.app.metrics);
    await deliverer.deliverDue();
    await deliverer.settle();
    const [delivery] = await relay.app.store.webhookDeliveries(id);
    expect(delivery).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/could not deliver/) });
    expect(delivery?.nextAttemptAt).toEqual(expect.any(Number));
    expect(hooks.received).toHaveLength(0);
  });

  it('queues no webhook for a merchant without a webhook URL: the finished payment leaves the outbox empty', async () => {
    relay = await startRelay({ merchants: [demoMerchant(new SandboxProvider({ delayMs: 50 }), [], SECRET)], ...fast });
    const id = await payAndSettle(relay);
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'succeeded');
    expect(await relay.app.store.webhookDeliveries(id)).toEqual([]);
    expect((await relay.app.store.countsForMetrics(Date.now())).webhooks.waiting).toBe(0);
  });
});

describe('verifyWebhook', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', createdAt: '2026-01-01T00:00:00Z', data: { id: 'pay_1', status: 'succeeded', amount: 1 } });
  const now = new Date('2026-11-26T12:00:00Z');
  const t = Math.floor(now.getTime() / 1000);

  it('accepts the relay signature within the tolerance', () => {
    expect(verifyWebhook(body, signWebhook(body, SECRET, t - 60), SECRET, { now }).ok).toBe(true);
  });

  it('refuses an altered body, another key, a stale timestamp and a missing header', () => {
    const header = signWebhook(body, SECRET, t);
    expect(verifyWebhook(body.replace('"amount":1', '"amount":1000'), header, SECRET, { now })).toMatchObject({ ok: false, reason: 'signature does not match' });
    expect(verifyWebhook(body, header, 'sk_test_other_0123456789abcd', { now }).ok).toBe(false);
    expect(verifyWebhook(body, signWebhook(body, SECRET, t - 3600), SECRET, { now })).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
    expect(verifyWebhook(body, undefined, SECRET, { now }).ok).toBe(false);
    expect(verifyWebhook(body, 'garbage', SECRET, { now }).ok).toBe(false);
  });

  it('verifies nothing with an empty or unset secret key, which anyone could sign with', () => {
    // `process.env.SHOP_SECRET_KEY` set to '' by a slip, or not set at all.
    for (const key of ['', undefined, ['', '']]) {
      expect(verifyWebhook(body, signWebhook(body, '', t), key, { now }), JSON.stringify(key)).toEqual({ ok: false, reason: 'no secret key to verify with: the secret key setting is empty or unset' });
    }
    // An empty key beside a real one does not open the door either.
    expect(verifyWebhook(body, signWebhook(body, '', t), ['', SECRET], { now })).toMatchObject({ ok: false, reason: 'signature does not match' });
  });
});

describe('webhook retry schedule', () => {
  it('doubles from the first retry up to the cap, with jitter', () => {
    const mid = () => 0.5;
    expect(webhookRetryDelay(1, DEFAULT_WEBHOOK_RETRY, mid)).toBe(10_000);
    expect(webhookRetryDelay(2, DEFAULT_WEBHOOK_RETRY, mid)).toBe(20_000);
    expect(webhookRetryDelay(30, DEFAULT_WEBHOOK_RETRY, mid)).toBe(60 * 60_000);
    expect(webhookRetryDelay(1, DEFAULT_WEBHOOK_RETRY, () => 0)).toBe(8_000);
  });
});

describe('webhook give-up', () => {
  it('needs the attempts the slowest backoff makes in 3 days (every wait 20 % long)', () => {
    // 10 s doubling to the 1 h cap: 9 waits up to 85 min (x1.2), then 72 min each, over 72 h.
    expect(fewestAttemptsBeforeGivingUp(DEFAULT_WEBHOOK_RETRY)).toBe(68);
  });
});
