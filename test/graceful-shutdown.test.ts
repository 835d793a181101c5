/**
 * Graceful shutdown behind a load balancer: two relay instances on one PostgreSQL database, the
 * customer's checkout open through the balancer on instance A. A gets SIGTERM mid-payment: it
 * stops taking payments, hands its SSE stream over (the widget reconnects through the balancer to
 * B), finishes its work and exits 0; the customer sees Paid and never an error.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../server/src/testing/postgres.js';
import { RECEIPT_PATTERN } from './support/api.js';
import { startBalancer, type Balancer } from './support/balancer.js';
import { launchBrowser, openCheckout, payWithPhone, recordedEvents, waitForWidgetText } from './support/browser.js';
import { startRelayProcess, type RelayProcess } from './support/relay-process.js';

const pgReady = await requirePostgres();

describe.skipIf(!pgReady)('SIGTERM on one of two instances during a payment', () => {
  const schema = freshSchema();
  let a: RelayProcess;
  let b: RelayProcess;
  let balancer: Balancer;
  let browser: Browser;

  beforeAll(async () => {
    const { openPostgresStore } = await import('../server/src/store/postgres.js');
    await (await openPostgresStore(TEST_DATABASE_URL, { schema })).close();
    const env = { DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`, SANDBOX_DELAY_MS: '3000' };
    a = await startRelayProcess({ env });
    b = await startRelayProcess({ env });
    balancer = await startBalancer([a.url, b.url]);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await balancer?.close();
    await a?.stop();
    await b?.stop();
    await dropSchema(schema);
  });

  it('lets the customer finish on instance B without noticing, and A exits cleanly', async () => {
    const checkout = await openCheckout(browser, balancer.url);
    try {
      const created = await payWithPhone(checkout.page, '0708374149');
      expect(created.status()).toBe(201);
      await waitForWidgetText(checkout.page, /check your phone/i, 5_000);

      await a.kill('SIGTERM');
      // Its log says what held it up if it had to be killed.
      expect(a.lastExit, a.output()).toEqual({ code: 0, signal: null });
      expect(a.output()).toMatch(/shutting down/);

      const shown = await waitForWidgetText(checkout.page, /\bpaid\b/i, 30_000);
      const receipt = /M-Pesa receipt ([A-Z0-9]{10})/i.exec(shown)?.[1];
      expect(receipt).toMatch(RECEIPT_PATTERN);
      const events = await recordedEvents(checkout.page);
      expect(events.filter((event) => event.type === 'stk-pay-error')).toEqual([]);
      expect(events.filter((event) => event.type === 'stk-pay-failure')).toEqual([]);
    } finally {
      await checkout.close();
    }
  });
});
