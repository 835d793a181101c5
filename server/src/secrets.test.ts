/**
 * Secrets hygiene: a full payment through every provider, then every configured secret is looked
 * for in the built widget, every API response the relay gave, and every log line it wrote (at
 * trace level, the most talkative). Zero hits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Merchant } from './merchants.js';
import { providerFromEnv, type ProviderName } from './providers/index.js';
import { darajaSettings, startDarajaDouble } from './testing/doubles/daraja.js';
import { startIntaSendDouble } from './testing/doubles/intasend.js';
import { startUpesiPayDouble } from './testing/doubles/upesipay.js';
import { readSse } from './testing/sse-client.js';
import { startRelay, type StartedRelay } from './testing/start-relay.js';

const MERCHANT_SECRET = 'sk_test_HYGIENE_merchant_secret_77';
const CALLBACK_TOKEN = 'HYGIENEcallbacktoken0123456789';

interface Setup {
  settings: Record<string, string>;
  secrets: string[];
  close(): Promise<void>;
  /** For providers whose webhook URL is set in their dashboard. */
  setWebhookUrl?(url: string): void;
}

const setups: Record<Exclude<ProviderName, 'sandbox'>, () => Promise<Setup>> = {
  async intasend() {
    const secrets = { publishableKey: 'ISPubKey_test_HYGIENEpub001', secretKey: 'ISSecretKey_test_HYGIENEsecret001', challenge: 'HYGIENEchallenge001' };
    const double = await startIntaSendDouble({ flavour: 'intasend', ...secrets, delayMs: 50 });
    return {
      settings: { INTASEND_BASE_URL: double.url, INTASEND_PUBLISHABLE_KEY: secrets.publishableKey, INTASEND_SECRET_KEY: secrets.secretKey, INTASEND_WEBHOOK_CHALLENGE: secrets.challenge },
      secrets: [secrets.secretKey, secrets.challenge],
      close: () => double.close(),
      setWebhookUrl: (url) => (double.webhookUrl = url),
    };
  },
  async kulmipay() {
    const secrets = { publishableKey: 'ISPubKey_test_HYGIENEpub002', secretKey: 'ISSecretKey_test_HYGIENEsecret002', challenge: 'HYGIENEchallenge002' };
    const double = await startIntaSendDouble({ flavour: 'kulmipay', ...secrets, delayMs: 50, envelope: true, proof: 'hmac' });
    return {
      settings: { KULMIPAY_BASE_URL: double.url, KULMIPAY_PUBLISHABLE_KEY: secrets.publishableKey, KULMIPAY_SECRET_KEY: secrets.secretKey, KULMIPAY_WEBHOOK_CHALLENGE: secrets.challenge },
      secrets: [secrets.secretKey, secrets.challenge],
      close: () => double.close(),
      setWebhookUrl: (url) => (double.webhookUrl = url),
    };
  },
  async upesipay() {
    const double = await startUpesiPayDouble({ authToken: 'HYGIENEupesiAuthToken003', channelId: 2133, delayMs: 50 });
    return {
      settings: { UPESIPAY_BASE_URL: double.url, UPESIPAY_AUTH_TOKEN: 'HYGIENEupesiAuthToken003', UPESIPAY_CHANNEL_ID: '2133' },
      secrets: ['HYGIENEupesiAuthToken003'],
      close: () => double.close(),
    };
  },
  async daraja() {
    const secrets = { consumerKey: 'HYGIENEconsumerKey004', consumerSecret: 'HYGIENEconsumerSecret004', shortcode: '174379', passkey: 'HYGIENEpasskey004bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919' };
    const double = await startDarajaDouble({ ...secrets, delayMs: 50 });
    return {
      settings: darajaSettings(double.url, secrets),
      secrets: [secrets.consumerKey, secrets.consumerSecret, secrets.passkey],
      close: () => double.close(),
    };
  },
};

const widgetFiles = ['stk-pay.js', 'stk-pay.mjs']
  .map((name) => fileURLToPath(new URL(`../../widget/dist/${name}`, import.meta.url)))
  .filter((path) => existsSync(path));

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe.each(Object.keys(setups) as (keyof typeof setups)[])('secrets of %s', (name) => {
  it('appear in no API response, no log line and not in the widget after a full payment', async () => {
    const setup = await setups[name]();
    cleanup.push(() => setup.close());
    const logs: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => (logs.push(String(chunk)), done()) });
    const merchant: Merchant = {
      id: 'shop',
      name: 'Shop',
      publishableKeys: ['pk_test_hygiene01'],
      secretKeys: [MERCHANT_SECRET],
      allowedOrigins: ['https://shop.example'],
      provider: providerFromEnv(name, setup.settings),
      amount: { min: 1, max: 150_000 },
    };
    const relay: StartedRelay = await startRelay({ merchants: [merchant], callbackToken: CALLBACK_TOKEN, logger: { level: 'trace' }, logStream, checkSchedule: { promptWindowMs: 300 }, reconcileTickMs: 50 });
    cleanup.push(() => relay.close());
    setup.setWebhookUrl?.(`${relay.url}/v1/callbacks/${name}/${CALLBACK_TOKEN}`);

    const responses: string[] = [];
    const keep = async (response: Response) => {
      const text = await response.text();
      responses.push(JSON.stringify([...response.headers]), text);
      return text;
    };
    const created = JSON.parse(
      await keep(
        await fetch(`${relay.url}/v1/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_hygiene01', origin: 'https://shop.example' },
          body: JSON.stringify({ amount: 250, phone: '0708374149', reference: 'INV-9' }),
        }),
      ),
    ) as { id: string };
    const stream = await readSse(`${relay.url}/v1/payments/${created.id}/events`, { timeoutMs: 15_000 });
    responses.push(...stream.messages.map((m) => m.data));
    const final = JSON.parse(stream.messages.at(-1)!.data) as { status: string };
    expect(final.status).toBe('succeeded');
    await keep(await fetch(`${relay.url}/v1/payments/${created.id}`));
    await keep(await fetch(`${relay.url}/v1/payments/${created.id}`, { headers: { authorization: `Bearer ${MERCHANT_SECRET}` } }));
    await keep(await fetch(`${relay.url}/v1/payments`, { headers: { authorization: `Bearer ${MERCHANT_SECRET}` } }));
    await keep(await fetch(`${relay.url}/readyz`));
    await keep(await fetch(`${relay.url}/v1/callbacks/${name}/${CALLBACK_TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"forged":true}' }));
    await keep(await fetch(`${relay.url}/v1/callbacks/${name}/wrong-token-0000000000`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    // A provider's dashboard set up with a slip in the URL: the token must stay out of the logs too.
    for (const slip of [`//v1/callbacks/${name}/${CALLBACK_TOKEN}`, `/v1/callbacks//${CALLBACK_TOKEN}`, `/v1/Callbacks/${name}/${CALLBACK_TOKEN}`, `/v1/callbacks/${CALLBACK_TOKEN}`, `/v1/callbacks%2F${name}%2F${CALLBACK_TOKEN}`, `/v1/%63allbacks/${name}/${CALLBACK_TOKEN}`, `/v1/c%61llback%73/${name}/${CALLBACK_TOKEN}`]) {
      await keep(await fetch(`${relay.url}${slip}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    }
    await relay.close();
    cleanup.pop();

    const haystacks: [string, string][] = [
      ['API responses', responses.join('\n')],
      ['logs', logs.join('')],
      ...widgetFiles.map((path): [string, string] => [path, readFileSync(path, 'utf8')]),
    ];
    expect(logs.length).toBeGreaterThan(5);
    // The callback URLs were logged, with their secret segment replaced.
    expect(logs.join('')).toContain(`/v1/callbacks/${name}/[redacted]`);
    for (const secret of [...setup.secrets, MERCHANT_SECRET, CALLBACK_TOKEN]) {
      for (const [where, text] of haystacks) expect(text.includes(secret), `${secret} found in ${where}`).toBe(false);
    }
    // Full phone numbers stay out of logs too.
    expect(logs.join('')).not.toContain('708374149');
  });
});
