/**
 * Shutdown with clients on keep-alive connections (load balancers, the provider's callback sender):
 * a request in flight when the relay begins to close is answered, and its connection is closed
 * after it, so the relay can exit instead of waiting for the client to hang up (Fastify's
 * keep-alive timeout is 72 s).
 */
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IDLE_GRACE_MS, demoMerchant } from './app.js';
import { SandboxProvider } from './providers/sandbox.js';
import { startHangingEndpoint } from './testing/hanging-endpoint.js';
import { startRelay } from './testing/start-relay.js';
import { until } from './testing/until.js';

describe('graceful shutdown', () => {
  it('answers a request in flight on a keep-alive connection with Connection: close, and finishes closing', async () => {
    const relay = await startRelay({ idleGraceMs: DEFAULT_IDLE_GRACE_MS });
    const agent = new Agent({ keepAlive: true });
    const body = JSON.stringify({ amount: 250, phone: '0708374149' });
    const answered = new Promise<{ status: number | undefined; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        `${relay.url}/v1/payments`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-publishable-key': 'pk_test_demo' } },
        (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection }));
        },
      );
      req.on('error', reject);
      // Half the body now: the request is in flight when the relay starts closing.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 200);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = relay.close();
    const answer = await answered;
    expect(answer.status).toBe(503);
    expect(answer.connection).toBe('close');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => (timer = setTimeout(() => resolve('still open'), 10_000)))]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
    agent.destroy();
  });

  it('answers 503 with Connection: close, not a reset, to a payment sent on an idle keep-alive connection just after closing begins', async () => {
    const relay = await startRelay({ idleGraceMs: DEFAULT_IDLE_GRACE_MS });
    // One connection, kept open between requests (a load balancer's, a merchant's server).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body?: string) =>
      new Promise<{ status: number | undefined; connection: string | undefined; reused: boolean }>((resolve, reject) => {
        const headers: Record<string, string | number> = { 'x-publishable-key': 'pk_test_demo' };
        if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        const req = request(`${relay.url}${path}`, { method, agent, headers }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      expect((await send('GET', '/healthz')).status).toBe(200);
      const closing = relay.close();
      await until(() => relay.app.draining, 'closing');
      // Sent once the relay has begun to close, on the connection already open.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const answer = await send('POST', '/v1/payments', JSON.stringify({ amount: 250, phone: '0708374149' }));
      expect(answer).toEqual({ status: 503, connection: 'close', reused: true });
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => (timer = setTimeout(() => resolve('still open'), 10_000)))]);
      clearTimeout(timer);
      expect(outcome).toBe('closed');
    } finally {
      agent.destroy();
      await relay.close().catch(() => undefined);
    }
  });

  it("takes a provider's callback that arrives while the relay is closing, refuses new payments meanwhile, and cuts short a merchant webhook that hangs", async () => {
    // A merchant's endpoint that takes the webhook and never answers.
    const hanging = await startHangingEndpoint();
    const { held } = hanging;
    // The sandbox, but its status query about one request hangs until released: the reconciler's
    // pass asking about it holds the shutdown open, as a slow provider would.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gatedRef: string | undefined;
    let gateReached = false;
    class SlowQuerySandbox extends SandboxProvider {
      override async queryStatus(providerRef: string) {
        if (providerRef === gatedRef) {
          gateReached = true;
          await gate;
        }
        return super.queryStatus(providerRef);
      }
    }
    const merchant = { ...demoMerchant(new SlowQuerySandbox({ delayMs: 300 })), webhookUrl: hanging.url };
    const relay = await startRelay({ idleGraceMs: DEFAULT_IDLE_GRACE_MS, merchants: [merchant], callbackToken: 'shutdown-callback-token-01', webhookTickMs: 20, reconcileTickMs: 20, checkSchedule: { promptWindowMs: 100 } });
    try {
      const pay = (phone: string) => fetch(`${relay.url}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' }, body: JSON.stringify({ amount: 250, phone }) });
      const idOf = async (response: Response) => ((await response.json()) as { id: string }).id;
      // One payment finished, its webhook held by the merchant's endpoint.
      const paid = await idOf(await pay('0708374149'));
      await until(() => held.length === 1, 'the webhook in flight');
      // One whose status query hangs: the reconciler is stuck on it.
      const slow = await idOf(await pay('0700000005'));
      await relay.app.payments.settle();
      gatedRef = (await relay.app.store.getPayment(slow))!.providerRef!;
      await until(() => gateReached, "the reconciler's query held");
      // One whose customer has paid, and whose callback comes only once the relay is closing.
      const open = await idOf(await pay('0700000005'));
      await relay.app.payments.settle();
      const { providerRef } = (await relay.app.store.getPayment(open))!;
      await new Promise((resolve) => setTimeout(resolve, 400));

      const closing = relay.app.close();
      await until(() => relay.app.draining, 'closing');
      const callback = await fetch(`${relay.url}/v1/callbacks/sandbox/shutdown-callback-token-01`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Body: { stkCallback: { CheckoutRequestID: providerRef, ResultCode: 0, ResultDesc: 'ok', CallbackMetadata: { Item: [{ Name: 'Amount', Value: 250 }, { Name: 'MpesaReceiptNumber', Value: 'CLOSING001' }] } } } }),
      });
      expect(callback.status).toBe(200);
      expect(await callback.json()).toEqual({ received: true, verdict: 'applied' });
      expect((await pay('0722333444')).status).toBe(503);
      release();
      await closing;

      // Reopened: the callback's change was kept, and the webhook cut short is due again.
      const again = await startRelay({ dbPath: relay.dbPath, merchants: [merchant], reconcileTickMs: 3_600_000, webhookTickMs: 3_600_000 });
      try {
        expect(await again.app.store.getPayment(open)).toMatchObject({ status: 'succeeded' });
        expect((await again.app.store.callbacksFor(open)).map((c) => c.verdict)).toEqual(['applied']);
        const [delivery] = await again.app.store.webhookDeliveries(paid);
        expect(delivery).toMatchObject({ deliveredAt: null, attempts: 1, lastError: expect.stringMatching(/shutting down/) });
        expect(delivery?.nextAttemptAt).toEqual(expect.any(Number));
      } finally {
        await again.close();
      }
    } finally {
      release();
      await hanging.close();
      await relay.close().catch(() => undefined);
    }
  });
});
