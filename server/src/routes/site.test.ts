import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { IntaSendProvider } from '../providers/intasend.js';
import { SandboxProvider } from '../providers/sandbox.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

describe('site routes', () => {
  it('serves the built widget with caching headers and answers a revalidation with 304', async () => {
    const widgetFile = join(mkdtempSync(join(tmpdir(), 'stk-widget-')), 'stk-pay.js');
    writeFileSync(widgetFile, 'customElements.define("stk-pay", class extends HTMLElement {});');
    relay = await startRelay({ widgetFile });
    const response = await relay.app.inject({ method: 'GET', url: '/stk-pay.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/javascript/);
    expect(response.body).toContain('stk-pay');
    const again = await relay.app.inject({ method: 'GET', url: '/stk-pay.js', headers: { 'if-none-match': String(response.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('serves the ES module build at /stk-pay.mjs, loadable as a module script from any origin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stk-widget-'));
    writeFileSync(join(dir, 'stk-pay.js'), 'var StkPay = (function () {})();');
    writeFileSync(join(dir, 'stk-pay.mjs'), 'export class StkPay {}');
    relay = await startRelay({ widgetFile: join(dir, 'stk-pay.js') });
    const response = await relay.app.inject({ method: 'GET', url: '/stk-pay.mjs', headers: { origin: 'https://shop.example' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/javascript/);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.body).toBe('export class StkPay {}');
    const classic = await relay.app.inject({ method: 'GET', url: '/stk-pay.js' });
    expect(classic.body).toBe('var StkPay = (function () {})();');
    const again = await relay.app.inject({ method: 'GET', url: '/stk-pay.mjs', headers: { 'if-none-match': String(response.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('answers 503 with a clear message when the widget is not built', async () => {
    relay = await startRelay({ widgetFile: '/nonexistent/stk-pay.js' });
    for (const url of ['/stk-pay.js', '/stk-pay.mjs']) {
      const response = await relay.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.message).toMatch(/pnpm build/);
    }
  });

  it('serves a demo page with the widget and the sandbox numbers', async () => {
    relay = await startRelay();
    const response = await relay.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<stk-pay amount="250" reference="INV-9"');
    expect(response.body).toContain('publishable-key="pk_test_demo"');
    expect(response.body).toContain('<script src="/stk-pay.js"></script>');
    for (const phone of ['0708374149', '0700000001', '0700000005', '0700000006']) expect(response.body).toContain(phone);
  });

  it('serves no checkout at / when the demo merchant runs a real provider: it names the provider and points at /docs, and the widget is still served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stk-widget-'));
    writeFileSync(join(dir, 'stk-pay.js'), 'var StkPay = 1;');
    writeFileSync(join(dir, 'stk-pay.mjs'), 'export const StkPay = 1;');
    // Pointed at nothing: the page is built without a word to the provider.
    const intasend = new IntaSendProvider({ flavour: 'intasend', baseUrl: 'http://127.0.0.1:9', publishableKey: 'ISPubKey_test_site', secretKey: 'ISSecretKey_test_site', webhookChallenge: 'site-challenge' });
    relay = await startRelay({ merchants: [demoMerchant(intasend)], widgetFile: join(dir, 'stk-pay.js') });
    const response = await relay.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('<strong>intasend</strong>');
    expect(response.body).toMatch(/real M-Pesa payments/);
    expect(response.body).toContain('<a href="/docs">');
    for (const absent of ['<stk-pay', 'sandbox', 'no money moves', '0708374149', 'pk_test_demo', '<script', '<iframe']) expect(response.body, absent).not.toContain(absent);
    for (const url of ['/stk-pay.js', '/stk-pay.mjs']) expect((await relay.app.inject({ method: 'GET', url })).statusCode).toBe(200);
  });

  it('serves no checkout at / when no merchant has the demo key (a merchants file): its Pay could only be refused', async () => {
    const shop = { ...demoMerchant(new SandboxProvider({ delayMs: 50 })), id: 'shop', publishableKeys: ['pk_test_shop0001'] };
    relay = await startRelay({ merchants: [shop] });
    const page = (await relay.app.inject({ method: 'GET', url: '/' })).body;
    expect(page).not.toContain('<stk-pay');
    expect(page).toMatch(/<strong>sandbox<\/strong> provider for its merchants: no money moves/);
    expect(page).toContain('<a href="/docs">');
  });

  it('shows the checkout themed and in Swahili in frames, leaving one checkout in the page for the customer', async () => {
    relay = await startRelay();
    const page = (await relay.app.inject({ method: 'GET', url: '/' })).body;
    expect(page.match(/<stk-pay /g)).toHaveLength(1);
    const frames = [...page.matchAll(/<iframe [^>]*srcdoc="([^"]*)"/g)].map((match) => match[1]!.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code))));
    expect(frames).toHaveLength(2);
    expect(frames[0]).toContain('--stk-pay-accent:');
    expect(frames[0]).toContain('<script src="/stk-pay.js"></script>');
    expect(frames[1]).toContain('<stk-pay lang="sw"');
    expect(frames[1]).toContain('<script type="module" src="/stk-pay.mjs"></script>');
    // The snippet to copy offers both tags.
    expect(page).toContain('&lt;script src="${RELAY}/stk-pay.js"&gt;&lt;/script&gt;');
    expect(page).toContain('&lt;script type="module" src="${RELAY}/stk-pay.mjs"&gt;&lt;/script&gt;');
  });

  it('serves the OpenAPI description of the public API at /docs, from the zod schemas', async () => {
    relay = await startRelay();
    const response = await relay.app.inject({ method: 'GET', url: '/docs' });
    expect(response.statusCode).toBe(200);
    const spec = response.json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/payments', '/v1/payments/{id}', '/v1/payments/{id}/events', '/v1/checkout/terms']));
    expect(spec.paths['/v1/payments'].post.requestBody.content['application/json'].schema.properties.amount.type).toBe('integer');
    expect(Object.keys(spec.paths).some((path: string) => path.startsWith('/v1/callbacks'))).toBe(false);
  });

  it('counts payments, callbacks and streams in Prometheus text at /metrics, without ids or phones', async () => {
    relay = await startRelay({ sandboxDelayMs: 50 });
    const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0700000001' } });
    const id = created.json().id as string;
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'failed', 'payment failed');
    // The callback's own count follows its status change by a moment.
    let response = await relay.app.inject({ method: 'GET', url: '/metrics' });
    await until(async () => (response = await relay!.app.inject({ method: 'GET', url: '/metrics' })).body.includes('verdict="applied"'), 'callback counted');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/plain/);
    expect(response.body).toMatch(/stk_pay_payments_created_total\{merchant="demo",provider="sandbox"\} 1/);
    expect(response.body).toMatch(/stk_pay_payments_finished_total\{provider="sandbox",status="failed",failure_code="cancelled"\} 1/);
    expect(response.body).toMatch(/stk_pay_provider_callbacks_total\{provider="sandbox",verdict="applied"\} 1/);
    // Names and labels only: a sample's value (a latency sum) may hold any digits.
    const series = response.body.split('\n').filter((line) => !line.startsWith('#')).map((line) => line.replace(/ \S+$/, '')).join('\n');
    expect(series).not.toContain(id);
    expect(series).not.toContain('700000001');
  });

  it('answers health and readiness', async () => {
    relay = await startRelay();
    expect((await relay.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    expect((await relay.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ ok: true, providers: ['sandbox'] });
  });
});
