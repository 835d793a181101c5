/**
 * The logs an operator follows: pino JSON, every request under a request id the caller can see,
 * and a payment's whole life findable by its id, with no phone number, secret or callback token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from './app.js';
import { MemoryStatusBus } from './bus/memory.js';
import type { Merchant } from './merchants.js';
import { darajaFromEnv } from './providers/daraja.js';
import { IntaSendProvider } from './providers/intasend.js';
import { SandboxProvider } from './providers/sandbox.js';
import type { Provider } from './providers/types.js';
import { openSqliteStore } from './store/sqlite.js';
import type { PaymentStore } from './store/types.js';
import { darajaSettings, startDarajaDouble, type DarajaDouble } from './testing/doubles/daraja.js';
import { startIntaSendDouble, type IntaSendDouble } from './testing/doubles/intasend.js';
import { startRelay, type StartedRelay, type StartRelayOptions } from './testing/start-relay.js';
import { until } from './testing/until.js';

const MERCHANT_SECRET = 'sk_test_LOGS_merchant_secret_0042';
const CALLBACK_TOKEN = 'LOGScallbacktoken0123456789abcd';
const DARAJA = { consumerKey: 'LOGSconsumerKey77', consumerSecret: 'LOGSconsumerSecret77', shortcode: '174379', passkey: 'LOGSpasskey77bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b' };

interface LogLine {
  msg: string;
  level: number;
  reqId?: string;
  paymentId?: string;
  [field: string]: unknown;
}

let relay: StartedRelay | undefined;
let double: DarajaDouble | IntaSendDouble | undefined;
let hooks: Server | undefined;
afterEach(async () => {
  await relay?.close();
  await double?.close();
  await new Promise((resolve) => (hooks ? hooks.close(resolve) : resolve(undefined)));
  relay = undefined;
  double = undefined;
  hooks = undefined;
});

/** A merchant's webhook endpoint that takes everything. */
async function merchantWebhooks(): Promise<string> {
  hooks = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200).end());
  });
  await new Promise<void>((resolve) => hooks!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
}

async function relayWithLogs(provider: Provider, options: StartRelayOptions = {}): Promise<{ relay: StartedRelay; logs: () => LogLine[]; text: () => string }> {
  const chunks: string[] = [];
  const logStream = new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) });
  const merchant: Merchant = { ...demoMerchant(provider, ['https://shop.example'], MERCHANT_SECRET), webhookUrl: await merchantWebhooks() };
  relay = await startRelay({ merchants: [merchant], callbackToken: CALLBACK_TOKEN, logger: { level: 'info' }, logStream, webhookTickMs: 20, ...options });
  const text = () => chunks.join('');
  return { relay, text, logs: () => text().split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine) };
}

async function pay(r: StartedRelay, phone: string): Promise<{ id: string; requestId: string }> {
  const response = await fetch(`${r.url}/v1/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' },
    body: JSON.stringify({ amount: 250, phone, reference: 'INV-9' }),
  });
  expect(response.status).toBe(201);
  return { id: ((await response.json()) as { id: string }).id, requestId: response.headers.get('x-request-id')! };
}

/** The lines about one payment, as `grep '"paymentId":"pay_…"'` finds them. */
function linesOf(logs: LogLine[], paymentId: string): LogLine[] {
  return logs.filter((line) => line.paymentId === paymentId);
}

/** Checks that `steps` occur in this order among `lines` (other lines may come between), and returns the matched lines. */
function expectSteps(lines: LogLine[], steps: [msg: string, fields?: Record<string, unknown>][]): LogLine[] {
  const found: LogLine[] = [];
  let from = 0;
  for (const [msg, fields = {}] of steps) {
    const at = lines.findIndex((line, i) => i >= from && line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value));
    expect(at, `"${msg}" ${JSON.stringify(fields)} after line ${from} in:\n${lines.map((line) => `  ${line.msg} ${JSON.stringify(line)}`).join('\n')}`).toBeGreaterThanOrEqual(0);
    found.push(lines[at]!);
    from = at + 1;
  }
  return found;
}

async function settled(r: StartedRelay, id: string): Promise<void> {
  await until(async () => (await r.app.store.webhookDeliveries(id)).some((delivery) => delivery.deliveredAt !== null), `webhook of ${id} delivered`);
}

describe('request ids', () => {
  it("sends back a caller's short plain X-Request-Id and logs the request under it; anything else gets an id of our own", async () => {
    const { relay: r, logs } = await relayWithLogs(new SandboxProvider({ delayMs: 50 }));
    const ask = (requestId?: string) => fetch(`${r.url}/v1/payments/pay_unknown`, { headers: requestId === undefined ? {} : { 'x-request-id': requestId } });
    expect((await ask('lb-7f3a.91_x')).headers.get('x-request-id')).toBe('lb-7f3a.91_x');
    for (const unusable of ['has spaces', 'x'.repeat(65), '"},{"msg":"forged', '']) {
      const id = (await ask(unusable)).headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(logs().some((line) => line.reqId === id)).toBe(true);
    }
    expect((await ask()).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(logs().filter((line) => line.reqId === 'lb-7f3a.91_x').map((line) => line.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    expect(logs().some((line) => JSON.stringify(line).includes('forged'))).toBe(false);
    // Browsers may read it too.
    const cors = await fetch(`${r.url}/v1/payments/pay_unknown`, { headers: { origin: 'https://shop.example' } });
    expect(cors.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
  });
});

describe("a payment's life in the logs, by its id", () => {
  it('tells a sandbox payment from creation to the merchant webhook: push, answer, each status change, the callback, the webhook', async () => {
    const { relay: r, logs, text } = await relayWithLogs(new SandboxProvider({ delayMs: 100 }), { checkSchedule: { promptWindowMs: 60_000 } });
    const { id, requestId } = await pay(r, '0708374149');
    await settled(r, id);
    const [created, , accepted] = expectSteps(linesOf(logs(), id), [
      ['payment created', { merchant: 'demo', provider: 'sandbox', amount: 250, phone: '2547•••••149' }],
      ['push claimed; sending it to the provider'],
      ['provider accepted the push'],
      ['payment status changed', { from: 'pending', to: 'awaiting_customer', source: 'push' }],
      ['provider callback received', { claims: 'succeeded' }],
      ['status query answered', { purpose: 'callback confirmation', answer: 'succeeded' }],
      ['payment status changed', { from: 'awaiting_customer', to: 'succeeded', source: 'callback' }],
      ['merchant webhook queued'],
      ['provider callback handled', { verdict: 'applied' }],
      ['merchant webhook delivered'],
    ]);
    // The request's id ties the payment to the POST that made it.
    expect(created!.reqId).toBe(requestId);
    expect(accepted!.latencyMs).toEqual(expect.any(Number));
    expect(text()).not.toMatch(/708374149|LOGScallbacktoken|sk_test_LOGS/);
  });

  it('tells a payment with no callback through its reconciliation checks to the end', async () => {
    const { relay: r, logs } = await relayWithLogs(new SandboxProvider({ delayMs: 100 }), { checkSchedule: { promptWindowMs: 200 }, reconcileTickMs: 50 });
    const { id } = await pay(r, '0700000005');
    await settled(r, id);
    expectSteps(linesOf(logs(), id), [
      ['payment created', { phone: '2547•••••005' }],
      ['provider accepted the push'],
      ['payment status changed', { from: 'pending', to: 'awaiting_customer' }],
      ['status query answered', { purpose: 'reconciliation', answer: 'succeeded' }],
      ['payment status changed', { from: 'awaiting_customer', to: 'succeeded', source: 'query' }],
      ['merchant webhook delivered'],
    ]);
  });

  it('tells a Daraja payment end to end, with no phone number, Daraja secret, merchant secret or callback token in any line', async () => {
    double = await startDarajaDouble({ ...DARAJA, delayMs: 50 });
    const provider = darajaFromEnv(darajaSettings(double.url, DARAJA));
    const { relay: r, logs, text } = await relayWithLogs(provider, { checkSchedule: { promptWindowMs: 60_000 }, logger: { level: 'trace' } });
    const { id, requestId } = await pay(r, '0708374149');
    await settled(r, id);
    const lines = linesOf(logs(), id);
    const callbackReqId = lines.find((line) => line.msg === 'provider callback received')!.reqId;
    expect(callbackReqId).toMatch(/./);
    // Each line a request caused carries its request id: the payment's creation and push under the
    // POST's, the callback's confirmation and the change it brought under the callback's.
    expectSteps(lines, [
      ['payment created', { provider: 'daraja', phone: '2547•••••149', reqId: requestId }],
      ['push claimed; sending it to the provider', { provider: 'daraja', reqId: requestId }],
      ['provider accepted the push', { reqId: requestId }],
      ['payment status changed', { from: 'pending', to: 'awaiting_customer', reqId: requestId }],
      ['provider callback received', { provider: 'daraja', claims: 'succeeded' }],
      ['status query answered', { purpose: 'callback confirmation', answer: 'succeeded', reqId: callbackReqId }],
      ['payment status changed', { from: 'awaiting_customer', to: 'succeeded', source: 'callback', reqId: callbackReqId }],
      ['merchant webhook queued', { reqId: callbackReqId }],
      ['provider callback handled', { verdict: 'applied', reqId: callbackReqId }],
      ['merchant webhook delivered'],
    ]);
    // The callback request itself is logged under its own request id, with the token hidden.
    expect(logs().find((line) => line.reqId === callbackReqId && line.msg === 'incoming request')).toMatchObject({ req: { url: '/v1/callbacks/daraja/[redacted]' } });
    for (const secret of [DARAJA.consumerKey, DARAJA.consumerSecret, DARAJA.passkey, MERCHANT_SECRET, CALLBACK_TOKEN, '708374149']) {
      expect(text().includes(secret), secret).toBe(false);
    }
  });
});

describe('a push the provider refuses, in the logs', () => {
  const INTASEND = { publishableKey: 'ISPubKey_test_LOGS01', secretKey: 'ISSecretKey_test_LOGS_right', challenge: 'LOGSchallenge01' };
  const adapter = (flavour: 'intasend' | 'kulmipay', baseUrl: string, secretKey: string) =>
    new IntaSendProvider({ flavour, baseUrl, publishableKey: INTASEND.publishableKey, secretKey, webhookChallenge: INTASEND.challenge });

  it("warns with the provider's words when it refuses the relay's secret key, so the operator sees which setting to mend, and never logs the key", async () => {
    double = await startIntaSendDouble({ flavour: 'intasend', ...INTASEND });
    const wrongKey = 'ISSecretKey_test_LOGS_WRONG';
    const { relay: r, logs, text } = await relayWithLogs(adapter('intasend', double.url, wrongKey), { logger: { level: 'trace' } });
    const { id } = await pay(r, '0708374149');
    await until(async () => (await r.app.store.getPayment(id))?.status === 'failed', 'payment refused');
    const [refused] = expectSteps(linesOf(logs(), id), [['provider refused the push', { code: 'rejected' }]]);
    expect(refused!.level).toBe(40);
    expect(refused!.reason).toMatch(/^IntaSend refused the request \(HTTP 401\): Invalid api token \(check INTASEND_SECRET_KEY\)$/);
    for (const secret of [wrongKey, INTASEND.secretKey, INTASEND.challenge, CALLBACK_TOKEN, '708374149']) expect(text().includes(secret), secret).toBe(false);
  });

  it("keeps a refusal of one payment (an amount the provider does not take) at info, with the provider's words", async () => {
    double = await startIntaSendDouble({ flavour: 'kulmipay', ...INTASEND, minAmount: 10 });
    const { relay: r, logs } = await relayWithLogs(adapter('kulmipay', double.url, INTASEND.secretKey));
    const response = await fetch(`${r.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' },
      body: JSON.stringify({ amount: 5, phone: '0708374149' }),
    });
    const { id } = (await response.json()) as { id: string };
    await until(async () => (await r.app.store.getPayment(id))?.status === 'failed', 'payment refused');
    const [refused] = expectSteps(linesOf(logs(), id), [['provider refused the push', { code: 'rejected' }]]);
    expect(refused!.level).toBe(30);
    expect(refused!.reason).toMatch(/^KulmiPay refused the request \(HTTP 400\): amount: Ensure this value is greater than or equal to 10\.$/);
  });
});

describe('background work that fails, in the logs', () => {
  it('a status notice the bus cannot send is logged under the payment; the committed change still stands and its webhook goes', async () => {
    const bus = new MemoryStatusBus();
    bus.publish = async () => {
      throw new Error('LISTEN connection gone');
    };
    const { relay: r, logs } = await relayWithLogs(new SandboxProvider({ delayMs: 50 }), { bus, checkSchedule: { promptWindowMs: 60_000 } });
    const { id } = await pay(r, '0708374149');
    await settled(r, id);
    expect(await r.app.store.getPayment(id)).toMatchObject({ status: 'succeeded', receipt: expect.any(String) });
    expectSteps(linesOf(logs(), id), [
      ['status notice not sent: streams on other instances see the change when their clients next ask'],
      ['provider callback handled', { verdict: 'applied' }],
      ['merchant webhook delivered'],
    ]);
  });

  it("one payment's failing status check is logged under that payment, and the pass goes on to settle the others", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stk-pay-logs-'));
    const real = await openSqliteStore(join(dir, 'stk-pay.sqlite'));
    let broken = '';
    // The real store, refusing the check's answer for one payment only (an injected fault).
    const store = new Proxy(real, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'updatePayment') return value;
        const update = value as PaymentStore['updatePayment'];
        return (...args: Parameters<PaymentStore['updatePayment']>) => (args[0] === broken && args[2] === 'query' ? Promise.reject(new Error('disk I/O error')) : update(...args));
      },
    });
    try {
      const { relay: r, logs } = await relayWithLogs(new SandboxProvider({ delayMs: 50 }), { store, checkSchedule: { promptWindowMs: 200 }, reconcileTickMs: 50 });
      const first = await pay(r, '0700000005');
      broken = first.id;
      const second = await pay(r, '0700000005');
      expect(second.id).not.toBe(first.id);
      await settled(r, second.id);
      await until(() => logs().some((line) => line.paymentId === first.id && line.msg === 'status check failed; trying again when its lease ends'), 'the failed check logged');
      expect(await real.getPayment(first.id)).toMatchObject({ status: 'awaiting_customer' });
      expect(logs().some((line) => String(line.msg).startsWith('reconciler pass failed'))).toBe(false);
      await r.close();
      relay = undefined;
    } finally {
      await real.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
