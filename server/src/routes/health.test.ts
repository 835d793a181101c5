import { get } from 'node:http';
import BetterSqlite3 from 'better-sqlite3';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import type { Merchant } from '../merchants.js';
import { darajaFromEnv } from '../providers/daraja.js';
import { providerFromEnv } from '../providers/index.js';
import { SandboxProvider } from '../providers/sandbox.js';
import type { Provider } from '../providers/types.js';
import { darajaSettings, startDarajaDouble, type DarajaDouble } from '../testing/doubles/daraja.js';
import type { HttpDouble } from '../testing/doubles/http-double.js';
import { startIntaSendDouble } from '../testing/doubles/intasend.js';
import { startUpesiPayDouble } from '../testing/doubles/upesipay.js';
import { startFreezableHop, type FreezableHop } from '../testing/freezable-hop.js';
import { dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../testing/postgres.js';
import { metricValue } from '../testing/prometheus.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';

const DARAJA_KEYS = { consumerKey: 'ck-health-tests', consumerSecret: 'cs-health-never-shown-5d1e', shortcode: '174379', passkey: 'pk-health-never-shown-bfb279f9aa9bdbcf158e97dd71a467cd2e0c8' };
const darajaEnv = (url: string, secret = DARAJA_KEYS.consumerSecret) => darajaSettings(url, { ...DARAJA_KEYS, consumerSecret: secret });

let relay: StartedRelay | undefined;
let double: DarajaDouble | undefined;
let otherDouble: HttpDouble | undefined;
afterEach(async () => {
  await relay?.close();
  await double?.close();
  await otherDouble?.close();
  relay = undefined;
  double = undefined;
  otherDouble = undefined;
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
    // Names and labels only: a sample's value (a latency sum such as 0.0070000000001) may hold any digits.
    const series = text.split('\n').filter((line) => !line.startsWith('#')).map((line) => line.replace(/ \S+$/, '')).join('\n');
    for (const id of [paid, cancelled, silent]) expect(series).not.toContain(id.slice(4));
    expect(series).not.toMatch(/70837414|70000000|ws_CO|INV-9/);

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

function merchantOn(id: string, provider: Provider): Merchant {
  return { id, name: id, publishableKeys: [`pk_test_${id}_0001`], secretKeys: [`sk_test_${id}_0123456789abcdef`], allowedOrigins: [], provider, amount: { min: 1, max: 150_000 } };
}

async function readyz(r: StartedRelay) {
  const response = await r.app.inject({ method: 'GET', url: '/readyz' });
  return { status: response.statusCode, body: response.json() as { ok: boolean; reason?: string; providers?: string[] } };
}

/** A provider double, and settings for its adapter with the right credentials or a wrong one. */
const aggregators = {
  async intasend() {
    const keys = { publishableKey: 'ISPubKey_test_readyz01', secretKey: 'ISSecretKey_test_readyz01', challenge: 'readyz-challenge-01' };
    const d = await startIntaSendDouble({ flavour: 'intasend', ...keys });
    const env = (publishableKey: string) => ({ INTASEND_BASE_URL: d.url, INTASEND_PUBLISHABLE_KEY: publishableKey, INTASEND_SECRET_KEY: keys.secretKey, INTASEND_WEBHOOK_CHALLENGE: keys.challenge });
    return { double: d, good: env(keys.publishableKey), wrong: env('ISPubKey_test_wrong99'), setting: 'INTASEND_PUBLISHABLE_KEY', wrongValue: 'ISPubKey_test_wrong99' };
  },
  async kulmipay() {
    const keys = { publishableKey: 'ISPubKey_test_readyz02', secretKey: 'ISSecretKey_test_readyz02', challenge: 'readyz-challenge-02' };
    const d = await startIntaSendDouble({ flavour: 'kulmipay', ...keys });
    const env = (secretKey: string) => ({ KULMIPAY_BASE_URL: d.url, KULMIPAY_SECRET_KEY: secretKey, KULMIPAY_WEBHOOK_CHALLENGE: keys.challenge });
    return { double: d, good: env(keys.secretKey), wrong: env('ISSecretKey_test_wrong99'), setting: 'KULMIPAY_SECRET_KEY', wrongValue: 'ISSecretKey_test_wrong99' };
  },
  async upesipay() {
    const d = await startUpesiPayDouble({ authToken: 'readyz-upesi-token-03', channelId: 2133 });
    const env = (authToken: string) => ({ UPESIPAY_BASE_URL: d.url, UPESIPAY_AUTH_TOKEN: authToken, UPESIPAY_CHANNEL_ID: '2133' });
    return { double: d, good: env('readyz-upesi-token-03'), wrong: env('wrong-upesi-token-99'), setting: 'UPESIPAY_AUTH_TOKEN', wrongValue: 'wrong-upesi-token-99' };
  },
};

describe('GET /readyz', () => {
  it('is ready with working Daraja credentials, and asks Daraja for a token once for many polls', async () => {
    double = await startDarajaDouble(DARAJA_KEYS);
    relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(darajaEnv(double.url)))] });
    for (let i = 0; i < 5; i++) expect(await readyz(relay)).toEqual({ status: 200, body: { ok: true, providers: ['daraja'] } });
    expect(double.tokensIssued).toBe(1);
    // The token it fetched serves the payments too.
    const id = await pay(relay, '0708374149');
    const r = relay;
    await until(async () => (await statusOf(r, id)) === 'awaiting_customer', 'push accepted');
    expect(double.tokensIssued).toBe(1);
  });

  it('answers 503 naming Daraja and the merchant when Daraja refuses the consumer key and secret, never the secret', async () => {
    double = await startDarajaDouble(DARAJA_KEYS);
    relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(darajaEnv(double.url, 'cs-wrong-secret-77')))] });
    const { status, body } = await readyz(relay);
    expect(status).toBe(503);
    expect(body.reason).toMatch(/^provider daraja \(merchant demo\): Daraja refused the consumer key and secret \(HTTP 400\): check DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET$/);
    expect(JSON.stringify(body)).not.toContain('cs-wrong-secret-77');
    expect(metricValue(await scrape(relay), 'stk_pay_provider_request_duration_seconds_count', { provider: 'daraja', operation: 'token', outcome: 'refused' })).toBe(1);
  });

  it('answers 503 when nothing answers at the provider base URL', async () => {
    relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(darajaEnv(await nobodyListening())))] });
    const { status, body } = await readyz(relay);
    expect(status).toBe(503);
    expect(body.reason).toMatch(/^provider daraja \(merchant demo\): .*could not connect \(ECONNREFUSED\)/);
  });

  it.each(Object.keys(aggregators) as (keyof typeof aggregators)[])(
    'checks %s credentials with a status query that sends no prompt: ready when right, 503 naming the merchant and setting when wrong',
    async (name) => {
      const setup = await aggregators[name]();
      otherDouble = setup.double;
      relay = await startRelay({ merchants: [merchantOn('shop', providerFromEnv(name, setup.good))] });
      expect(await readyz(relay)).toEqual({ status: 200, body: { ok: true, providers: [name] } });
      await relay.close();

      relay = await startRelay({ merchants: [merchantOn('shop', providerFromEnv(name, setup.good)), merchantOn('other', providerFromEnv(name, setup.wrong))] });
      const { status, body } = await readyz(relay);
      expect(status).toBe(503);
      expect(body.reason).toMatch(new RegExp(`^provider ${name} \\(merchant other\\): .* refused ${setup.setting} \\(HTTP 401\\)$`));
      expect(JSON.stringify(body)).not.toContain(setup.wrongValue);
      expect(setup.double.prompts ?? 0).toBe(0);
    },
  );

  it.each(Object.keys(aggregators) as (keyof typeof aggregators)[])(
    'answers 503 naming the base URL when a web server that is not %s answers the check with 404',
    async (name) => {
      const setup = await aggregators[name]();
      otherDouble = setup.double;
      // The right host with a wrong path: its web server's own 404, not the API's "no such payment".
      const wrongBase = `${setup.double.url}/not-the-api`;
      const settings = Object.fromEntries(Object.entries(setup.good).map(([key, value]) => [key, key.endsWith('_BASE_URL') ? wrongBase : value]));
      relay = await startRelay({ merchants: [merchantOn('shop', providerFromEnv(name, settings))] });
      const { status, body } = await readyz(relay);
      expect(status).toBe(503);
      expect(body.reason).toMatch(new RegExp(`^provider ${name} \\(merchant shop\\): ${wrongBase.replace(/[./]/g, '\\$&')} answered HTTP 404, but not as .*'s API does: check the base URL$`));
    },
  );

  it("answers 503 naming DARAJA_BASE_URL, not the keys, when a web server that is not Daraja's answers the token request with 404", async () => {
    double = await startDarajaDouble(DARAJA_KEYS);
    const wrongBase = `${double.url}/not-the-api`;
    relay = await startRelay({ merchants: [demoMerchant(darajaFromEnv(darajaEnv(wrongBase)))] });
    const { status, body } = await readyz(relay);
    expect(status).toBe(503);
    expect(body.reason).toMatch(new RegExp(`^provider daraja \\(merchant demo\\): ${wrongBase.replace(/[./]/g, '\\$&')} answered the token request with HTTP 404: check DARAJA_BASE_URL$`));
  });

  it('answers 503 naming the store when the store does not answer', async () => {
    relay = await startRelay();
    expect((await readyz(relay)).status).toBe(200);
    await relay.app.store.close();
    expect(await readyz(relay)).toEqual({ status: 503, body: { ok: false, reason: 'the store (database) does not answer or cannot write' } });
  });

  it('answers 503 naming the store when the database answers reads but refuses writes (a full disk), and 200 again once it takes them', async () => {
    relay = await startRelay();
    expect((await readyz(relay)).status).toBe(200);
    // Another connection to the same file makes every write of the probe fail as a full disk does.
    // It waits for the relay's write lock without blocking this process, where the relay runs.
    const other = new BetterSqlite3(relay.dbPath, { timeout: 0 });
    const exec = (statements: string) => until(() => {
      try {
        other.exec(statements);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        return false;
      }
    }, 'the write lock');
    await exec(`create trigger full_insert before insert on settings begin select raise(abort, 'database or disk is full'); end;
                create trigger full_update before update on settings begin select raise(abort, 'database or disk is full'); end;`);
    try {
      expect(await relay.app.store.getPayment('pay_0000000000000000000000')).toBeUndefined();
      expect(await readyz(relay)).toEqual({ status: 503, body: { ok: false, reason: 'the store (database) does not answer or cannot write' } });
      await exec('drop trigger full_insert; drop trigger full_update;');
      expect((await readyz(relay)).status).toBe(200);
    } finally {
      other.close();
    }
  });
});

const pgReady = await requirePostgres();

describe.skipIf(!pgReady)('a PostgreSQL that hangs (a stuck host, a partition that closes nothing)', () => {
  /** A relay on PostgreSQL reached through a hop that can freeze the connections open now. */
  async function behindHop(check: (hop: FreezableHop, relay: StartedRelay) => Promise<void>): Promise<void> {
    const database = new URL(TEST_DATABASE_URL);
    const hop = await startFreezableHop(Number(database.port || 5432), database.hostname);
    const schema = freshSchema();
    database.host = `127.0.0.1:${hop.port}`;
    try {
      relay = await startRelay({ databaseUrl: database.href, postgresSchema: schema, reconcileTickMs: 60_000, webhookTickMs: 60_000, sandboxDelayMs: 60_000 });
      await check(hop, relay);
    } finally {
      await hop.close();
      await relay?.close();
      relay = undefined;
      await dropSchema(schema);
    }
  }

  it('/readyz answers 503 naming the store and /metrics answers with stk_pay_store_up 0, within seconds, instead of hanging', async () => {
    await behindHop(async (hop, r) => {
      expect((await readyz(r)).status).toBe(200);
      expect(metricValue(await scrape(r), 'stk_pay_store_up')).toBe(1);
      hop.freezeOpen();
      expect(await readyz(r)).toEqual({ status: 503, body: { ok: false, reason: 'the store (database) does not answer or cannot write' } });
      expect(metricValue(await scrape(r), 'stk_pay_store_up')).toBe(0);
    });
  }, 20_000);

  it('answers a payment 503 within the query deadline while it hangs, instead of holding the customer; the next one, on a fresh connection, is taken', async () => {
    await behindHop(async (hop, r) => {
      const pay = (phone: string) => r.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone } });
      expect((await pay('0712000051')).statusCode).toBe(201);
      // Its push done, every connection the relay has is idle in its pool: the next request's
      // queries take those (a request made while some were busy opened a fresh one, past the freeze).
      await r.app.payments.settle();
      // Every connection open now stops passing bytes (a failover that reset nothing).
      hop.freezeOpen();
      const held = await pay('0712000052');
      expect(held.statusCode).toBe(503);
      expect(held.json().error.code).toBe('unavailable');
      expect(held.headers['retry-after']).toBe('5');
      // The pool dropped the connections that timed out; new ones pass the hop.
      await until(async () => (await pay('0712000053')).statusCode === 201, 'a payment taken again', 30_000);
    });
  }, 60_000);
});
