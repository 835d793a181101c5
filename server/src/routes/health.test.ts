import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { darajaFromEnv } from '../providers/daraja.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { startDarajaDouble, type DarajaDouble } from '../testing/doubles/daraja.js';
import { metricValue } from '../testing/prometheus.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';

const DARAJA_KEYS = { consumerKey: 'ck-health-tests', consumerSecret: 'cs-health-never-shown-5d1e', shortcode: '174379', passkey: 'pk-health-never-shown-bfb279f9aa9bdbcf158e97dd71a467cd2e0c8' };
const darajaEnv = (url: string) => ({
  DARAJA_BASE_URL: url,
  DARAJA_CONSUMER_KEY: DARAJA_KEYS.consumerKey,
  DARAJA_CONSUMER_SECRET: DARAJA_KEYS.consumerSecret,
  DARAJA_SHORTCODE: DARAJA_KEYS.shortcode,
  DARAJA_PASSKEY: DARAJA_KEYS.passkey,
});

let relay: StartedRelay | undefined;
let double: DarajaDouble | undefined;
afterEach(async () => {
  await relay?.close();
  await double?.close();
  relay = undefined;
  double = undefined;
});

/** A base URL on 127.0.0.1 where nothing listens (a port just freed). */
async function nobodyListening(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function pay(r: StartedRelay, phone: string): Promise<string> {
  const response = await r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone, reference: 'INV-9' } });
  expect(response.statusCode).toBe(201);
  return response.json().id as string;
}

async function statusOf(r: StartedRelay, id: string) {
  return (await r.app.store.getPayment(id))?.status;
}

async function scrape(r: StartedRelay): Promise<string> {
  const response = await r.app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return response.body;
}

describe('GET /metrics', () => {
  it('reports payments by provider and status, the reconciliation backlog, the webhook outbox and open streams, counted at scrape', async () => {
    // Webhooks to a port nobody listens on fail and wait for their retry; the reconciler is
    // stalled after its first pass, as one that has fallen behind.
    const merchant = { ...demoMerchant(new SandboxProvider({ delayMs: 50 })), webhookUrl: `${await nobodyListening()}/hooks` };
        relay = await startRelay({ merchants: [merchant], checkSchedule: { promptWindowMs: 60_000 }, reconcileTickMs: 3_600_000, webhookTickMs: 20, webhookRetry: { firstRetryMs: 60_000 } });
    const r = relay;
    const paid = await pay(r, '0708374149');
    const cancelled = await pay(r, '0700000001');
    const silent = await pay(r, '0700000005');
    await until(async () => (await statusOf(r, paid)) === 'succeeded' && (await statusOf(r, cancelled)) === 'failed' && (await statusOf(r, silent)) === 'awaiting_customer', 'payments settled');
    await until(async () => [...(await r.app.store.webhookDeliveries(paid)), ...(await r.app.store.webhookDeliveries(cancelled))].every((d) => d.attempts === 1), 'webhooks attempted');

    // A stream on a connection of its own, so ending it closes the socket too.
    const stream = get(`${r.url}/v1/payments/${silent}/events`, { headers: { accept: 'text/event-stream' }, agent: false });
    await new Promise((resolve) => stream.on('response', (response) => response.once('data', resolve)));

    let text = await scrape(r);
    const payments = (status: string) => metricValue(text, 'stk_pay_payments', { provider: 'sandbox', status });
    expect([payments('pending'), payments('awaiting_customer'), payments('succeeded'), payments('failed')]).toEqual([0, 1, 1, 1]);
    expect(metricValue(text, 'stk_pay_reconciliation_backlog')).toBe(1);
    expect(metricValue(text, 'stk_pay_reconciliation_overdue')).toBe(0);
    expect(metricValue(text, 'stk_pay_webhook_outbox_depth')).toBe(2);
    expect(metricValue(text, 'stk_pay_webhook_outbox_overdue')).toBe(0);
    expect(metricValue(text, 'stk_pay_sse_streams_open')).toBe(1);
    expect(metricValue(text, 'stk_pay_store_up')).toBe(1);
    expect(metricValue(text, 'stk_pay_provider_request_duration_seconds_count', { provider: 'sandbox', operation: 'push', outcome: 'ok' })).toBe(3);
    // Both callbacks were confirmed by a status query before they were believed.
    expect(metricValue(text, 'stk_pay_provider_request_duration_seconds_count', { provider: 'sandbox', operation: 'query', outcome: 'ok' })).toBe(2);
    for (const id of [paid, cancelled, silent]) expect(text).not.toContain(id.slice(4));
    expect(text).not.toMatch(/70837414|70000000|ws_CO|INV-9/);

    // The silent payment's check falls due a minute ago and nobody makes it.
    await r.app.store.updatePayment(silent, { nextCheckAt: Date.now() - 60_000 }, 'schedule', Date.now());
    stream.destroy();
    await until(async () => metricValue(await scrape(r), 'stk_pay_sse_streams_open') === 0, 'stream closed');
    text = await scrape(r);
    expect(metricValue(text, 'stk_pay_reconciliation_backlog')).toBe(1);
    expect(metricValue(text, 'stk_pay_reconciliation_overdue')).toBe(1);
  });

  it("times Daraja's token, push and status query requests in the latency histogram, by outcome", async () => {
    double = await startDarajaDouble({ ...DARAJA_KEYS, delayMs: 50 });
    relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(darajaEnv(double.url)))], checkSchedule: { promptWindowMs: 200 }, reconcileTickMs: 50 });
    const r = relay;
    const paid = await pay(r, '0708374149');
    const cancelled = await pay(r, '0700000001');
    await until(async () => (await statusOf(r, paid)) === 'succeeded' && (await statusOf(r, cancelled)) === 'failed', 'payments settled');
    const text = await scrape(r);
    const count = (operation: string, outcome = 'ok') => metricValue(text, 'stk_pay_provider_request_duration_seconds_count', { provider: 'daraja', operation, outcome });
    expect(count('token')).toBe(1);
    expect(count('push')).toBe(2);
    expect(count('query')).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'stk_pay_provider_request_duration_seconds_bucket', { provider: 'daraja', operation: 'push', outcome: 'ok', le: '+Inf' })).toBe(2);
    expect(metricValue(text, 'stk_pay_payments', { provider: 'daraja', status: 'succeeded' })).toBe(1);
    expect(metricValue(text, 'stk_pay_payments', { provider: 'daraja', status: 'failed' })).toBe(1);
  });
});
