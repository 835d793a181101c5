import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { IntaSendProvider } from '../providers/intasend.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { startIntaSendDouble } from '../testing/doubles/intasend.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import type { AbuseLimits } from './abuse.js';
import { newPaymentId } from './service.js';

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** A relay whose sandbox is guarded like a real provider. */
async function guardedRelay(delayMs: number, abuseLimits: Partial<AbuseLimits> = {}, rateLimits = { perIp: 1000, perKey: 1000 }) {
  const sandbox = new SandboxProvider({ delayMs, abuseProtection: true });
  return startRelay({ merchants: [demoMerchant(sandbox)], abuseLimits, rateLimits });
}

function pay(r: StartedRelay, body: { amount: number; phone: string }, headers: Record<string, string> = {}) {
  return r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo', ...headers }, payload: body });
}

async function settled(r: StartedRelay, id: string) {
  for (let i = 0; i < 200; i++) {
    const payment = await r.app.store.getPayment(id);
    if (payment?.status === 'succeeded' || payment?.status === 'failed') return payment;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('payment did not settle');
}

function expectRefusal(response: Awaited<ReturnType<typeof pay>>, code: string) {
  expect(response.statusCode).toBe(429);
  expect(response.json().error.code).toBe(code);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  expect(response.json().error.message).toMatch(/wait|try again/i);
}

describe('abuse protection', () => {
  it('allows one open prompt per phone at a time', async () => {
    relay = await guardedRelay(60_000);
    expect((await pay(relay, { amount: 100, phone: '0712000001' })).statusCode).toBe(201);
    expectRefusal(await pay(relay, { amount: 200, phone: '0712000001' }), 'phone_busy');
    expect((await pay(relay, { amount: 200, phone: '0712000002' })).statusCode).toBe(201);
  });

  it('refuses the same amount to the same phone within 2 minutes (M-Pesa result 17)', async () => {
    relay = await guardedRelay(20);
    const first = (await pay(relay, { amount: 100, phone: '0712000003' })).json();
    await settled(relay, first.id);
    const again = await pay(relay, { amount: 100, phone: '0712000003' });
    expectRefusal(again, 'duplicate_payment');
    expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(120);
    expect((await pay(relay, { amount: 101, phone: '0712000003' })).statusCode).toBe(201);
  });

  it('cools a phone down after 3 successive failed prompts, well before the aggregator blocks it at 10', async () => {
    relay = await guardedRelay(20);
    for (const amount of [10, 11, 12]) {
      const created = await pay(relay, { amount, phone: '0700000001' });
      expect(created.statusCode).toBe(201);
      expect((await settled(relay, created.json().id)).failureCode).toBe('cancelled');
    }
    const cooled = await pay(relay, { amount: 13, phone: '0700000001' });
    expectRefusal(cooled, 'phone_cooldown');
    expect(Number(cooled.headers['retry-after'])).toBeGreaterThan(200);
  });

  it('still cools a phone down when its last payment is from "the future" (made before the clock was stepped back)', async () => {
    relay = await guardedRelay(20);
    // Paid 30 minutes "from now": the relay's clock has since been stepped back 30 minutes.
    const ahead = Date.now() + 30 * 60_000;
    const { payment } = await relay.app.store.createPayment(
      { id: newPaymentId(ahead), merchantId: 'demo', amount: 100, phone: '254700000001', reference: null, description: null, provider: 'sandbox', idempotencyKey: null, requestHash: null, nextCheckAt: null },
      ahead,
    );
    await relay.app.store.updatePayment(payment.id, { status: 'succeeded', pushState: 'sent', receipt: 'SBX0000001' }, 'callback', ahead);

    for (const amount of [10, 11, 12]) {
      const created = await pay(relay, { amount, phone: '0700000001' });
      expect(created.statusCode).toBe(201);
      expect((await settled(relay, created.json().id)).failureCode).toBe('cancelled');
    }
    expectRefusal(await pay(relay, { amount: 13, phone: '0700000001' }), 'phone_cooldown');
  });

  it("stops a merchant's prompts when its failures in 6 hours reach the budget", async () => {
    relay = await guardedRelay(20, { failureBudget: 3 });
    for (const phone of ['0700000002', '0700000003', '0700000004']) {
      const created = await pay(relay, { amount: 10, phone });
      await settled(relay, created.json().id);
    }
    expectRefusal(await pay(relay, { amount: 10, phone: '0712000009' }), 'merchant_paused');
  });

  it("does not count toward the merchant's budget a push that sent no prompt: one the provider refused, or never received", async () => {
    // KulmiPay refuses a push below KES 10, so one client sending KES 1 to any number would
    // otherwise pause every customer of the shop for six hours; so would a provider outage.
    const double = await startIntaSendDouble({ flavour: 'kulmipay', publishableKey: 'ISPubKey_test_abuse', secretKey: 'ISSecretKey_test_abuse-secret', challenge: 'abuse-challenge', delayMs: 60 });
    const kulmipay = new IntaSendProvider({ flavour: 'kulmipay', baseUrl: double.url, publishableKey: 'ISPubKey_test_abuse', secretKey: 'ISSecretKey_test_abuse-secret', webhookChallenge: 'abuse-challenge' });
    try {
      relay = await startRelay({ merchants: [demoMerchant(kulmipay)], abuseLimits: { failureBudget: 3 }, rateLimits: { perIp: 1000, perKey: 1000 } });
      for (const phone of ['0712000031', '0712000032', '0712000033', '0712000034']) {
        const created = await pay(relay, { amount: 1, phone });
        expect(created.statusCode).toBe(201);
        expect(await settled(relay, created.json().id)).toMatchObject({ status: 'failed', failureCode: 'rejected', pushState: 'refused' });
      }
      expect(double.prompts).toBe(0);
      const customer = await pay(relay, { amount: 250, phone: '0712000035' });
      expect(customer.statusCode, customer.body).toBe(201);
    } finally {
      await double.close();
    }
  });

  it('answers a retried request (same Idempotency-Key) as before instead of refusing it', async () => {
    relay = await guardedRelay(60_000);
    const key = { 'idempotency-key': 'retry-me-0001' };
    const first = await pay(relay, { amount: 100, phone: '0712000004' }, key);
    const retry = await pay(relay, { amount: 100, phone: '0712000004' }, key);
    expect(retry.statusCode).toBe(201);
    expect(retry.json().id).toBe(first.json().id);
  });

  it('limits payment requests per client IP, with Retry-After', async () => {
    relay = await guardedRelay(60_000, {}, { perIp: 2, perKey: 1000 });
    const ip = { 'x-forwarded-for': '203.0.113.7' };
    expect((await pay(relay, { amount: 1, phone: '0712000011' }, ip)).statusCode).toBe(201);
    expect((await pay(relay, { amount: 1, phone: '0712000012' }, ip)).statusCode).toBe(201);
    expectRefusal(await pay(relay, { amount: 1, phone: '0712000013' }, ip), 'rate_limited');
    expect((await pay(relay, { amount: 1, phone: '0712000013' }, { 'x-forwarded-for': '203.0.113.8' })).statusCode).toBe(201);
  });

  it('exempts an IPv4 address listed in the exempt addresses when a dual-stack listener sees it as ::ffff:a.b.c.d', async () => {
    const sandbox = new SandboxProvider({ delayMs: 60_000, abuseProtection: true });
    relay = await startRelay({ merchants: [demoMerchant(sandbox)], rateLimits: { perIp: 2, perKey: 1000, exemptIps: ['127.0.0.1', '::1'] } });
    for (const phone of ['0712000041', '0712000042', '0712000043', '0712000044']) {
      const response = await relay.app.inject({ method: 'POST', url: '/v1/payments', remoteAddress: '::ffff:127.0.0.1', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 1, phone } });
      expect(response.statusCode, phone).toBe(201);
    }
  });

  it('limits payment requests per publishable key across IPs', async () => {
    relay = await guardedRelay(60_000, {}, { perIp: 1000, perKey: 2 });
    expect((await pay(relay, { amount: 1, phone: '0712000021' }, { 'x-forwarded-for': '203.0.113.1' })).statusCode).toBe(201);
    expect((await pay(relay, { amount: 1, phone: '0712000022' }, { 'x-forwarded-for': '203.0.113.2' })).statusCode).toBe(201);
    expectRefusal(await pay(relay, { amount: 1, phone: '0712000023' }, { 'x-forwarded-for': '203.0.113.3' }), 'rate_limited');
  });

  it('exempts the relay host itself (a bot or shop backend beside it) from the per-IP limit, not from the per-key one', async () => {
    relay = await guardedRelay(60_000, {}, { perIp: 1, perKey: 3 });
    expect((await pay(relay, { amount: 1, phone: '0712000031' })).statusCode).toBe(201);
    expect((await pay(relay, { amount: 1, phone: '0712000032' })).statusCode).toBe(201);
    expect((await pay(relay, { amount: 1, phone: '0712000033' })).statusCode).toBe(201);
    expectRefusal(await pay(relay, { amount: 1, phone: '0712000034' }), 'rate_limited');
  });

  it('believes X-Forwarded-For only from a proxy on a private network, so a client cannot dodge the per-IP limit', async () => {
    relay = await guardedRelay(60_000, {}, { perIp: 1, perKey: 1000 });
    const fromInternet = (phone: string, forwardedFor: string) =>
      relay!.app.inject({
        method: 'POST',
        url: '/v1/payments',
        remoteAddress: '198.51.100.20',
        headers: { 'x-publishable-key': 'pk_test_demo', 'x-forwarded-for': forwardedFor },
        payload: { amount: 1, phone },
      });
    expect((await fromInternet('0712000041', '203.0.113.1')).statusCode).toBe(201);
    expectRefusal(await fromInternet('0712000042', '203.0.113.2'), 'rate_limited');
  });

  it('leaves the sandbox unguarded by default, so developers can repeat test numbers', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000 });
    expect((await pay(relay, { amount: 100, phone: '0708374149' })).statusCode).toBe(201);
    expect((await pay(relay, { amount: 100, phone: '0708374149' })).statusCode).toBe(201);
  });
});
