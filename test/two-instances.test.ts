/**
 * Two relay instances on one PostgreSQL database, as behind a load balancer: the customer's page
 * and its SSE stream are on instance A, the provider's callback reaches instance B (A's public URL
 * points at B), and the status still arrives on A through LISTEN/NOTIFY. Both instances run the
 * webhook outbox; the merchant receives the payment's webhook once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../server/src/testing/postgres.js';
import { until } from '../server/src/testing/until.js';
import { verifyWebhook } from '../server/src/webhooks/signature.js';
import { getPayment, RECEIPT_PATTERN } from './support/api.js';
import { launchBrowser, openCheckout, payWithPhone, waitForEvent, waitForWidgetText } from './support/browser.js';
import { startRelayProcess, type RelayProcess } from './support/relay-process.js';

const pgReady = await requirePostgres();
const SECRET = 'sk_test_two_instances_0123456789';

describe.skipIf(!pgReady)('two relay instances on one PostgreSQL database', () => {
  const schema = freshSchema();
  const dir = mkdtempSync(join(tmpdir(), 'stk-two-'));
  const webhooks: { body: string; signature: string }[] = [];
  let hookServer: Server;
  let a: RelayProcess;
  let b: RelayProcess;
  let browser: Browser;

  beforeAll(async () => {
    hookServer = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        webhooks.push({ body, signature: String(request.headers['stk-pay-signature']) });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    const hookPort = (hookServer.address() as { port: number }).port;
    const merchantsFile = join(dir, 'merchants.json');
    writeFileSync(
      merchantsFile,
      JSON.stringify({
        merchants: [
          {
            id: 'demo',
            name: 'Demo shop',
            publishableKeys: ['pk_test_demo'],
            secretKeys: ['${SHOP_SECRET_KEY}'],
            allowedOrigins: ['self'],
            provider: { name: 'sandbox' },
            webhookUrl: `http://127.0.0.1:${hookPort}/hooks/stk-pay`,
          },
        ],
      }),
    );
    const env = {
      DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`,
      STK_PAY_CONFIG: merchantsFile,
      SHOP_SECRET_KEY: SECRET,
      SANDBOX_DELAY_MS: '800',
    };
    // The schema must exist before two instances race to migrate it.
    const { openPostgresStore } = await import('../server/src/store/postgres.js');
    await (await openPostgresStore(TEST_DATABASE_URL, { schema })).close();
    b = await startRelayProcess({ env });
    a = await startRelayProcess({ env: { ...env, PUBLIC_URL: b.url } });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await a?.stop();
    await b?.stop();
    await new Promise((resolve) => hookServer?.close(resolve));
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows Paid on instance A's page when the provider's callback reached instance B, and the merchant gets one webhook", async () => {
    const checkout = await openCheckout(browser, a.url);
    try {
      const created = await payWithPhone(checkout.page, '0708374149');
      expect(created.status()).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      await waitForWidgetText(checkout.page, /\bpaid\b/i);
      await waitForEvent(checkout.page, 'stk-pay-success', 10_000);

      // B took the callback (the sandbox on A posts to A's PUBLIC_URL, which is B). Log lines
      // reach stdout in batches, within 100 ms: the page can show Paid before B's line is out.
      const changedOnB = new RegExp(`"paymentId":"${id}","from":"awaiting_customer","to":"succeeded","source":"callback"`);
      await until(() => changedOnB.test(b.output()), "B's log line of the change");
      expect(a.output()).not.toMatch(/"source":"callback"/);
      const onB = await getPayment(b.url, id);
      expect(onB.status).toBe('succeeded');
      expect(onB.receipt).toMatch(RECEIPT_PATTERN);

      // Both instances poll the outbox; give them several rounds to deliver twice if they could.
      const deadline = Date.now() + 10_000;
      while (webhooks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(webhooks).toHaveLength(1);
      const verdict = verifyWebhook(webhooks[0]!.body, webhooks[0]!.signature, SECRET);
      expect(verdict.ok && verdict.event.data.id).toBe(id);
    } finally {
      await checkout.close();
    }
  });
});
