/**
 * The demo page of a relay started as `pnpm start` starts it, used by a customer in headless
 * Chromium: type the phone number, press Pay, see the outcome. The relay's API must agree with
 * what the widget showed.
 */
import { describe, expect, it } from 'vitest';
import { getPayment, RECEIPT_PATTERN } from './support/api.js';
import { payWithPhone, waitForEvent, waitForWidgetText } from './support/browser.js';
import { useDemoRig } from './support/demo-rig.js';

const rig = useDemoRig();

function paymentIdOf(detail: unknown): string | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const record = detail as { id?: unknown; payment?: { id?: unknown } };
  if (typeof record.id === 'string') return record.id;
  if (typeof record.payment?.id === 'string') return record.payment.id;
  return undefined;
}

describe('demo page checkout', () => {
  it('serves the demo page with a <stk-pay> for KES 250 loaded from /stk-pay.js', async () => {
    const html = await (await fetch(`${rig.relay.url}/`)).text();
    expect(html).toMatch(/<stk-pay[^>]*amount="250"/);
    expect(html).toMatch(/src="[^"]*\/stk-pay\.js"/);
    const script = await fetch(`${rig.relay.url}/stk-pay.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });

  it('shows Paid with the receipt for 0708374149, and the relay reports the same receipt', async () => {
    const checkout = await rig.openCheckout();
    const created = await payWithPhone(checkout.page, '0708374149');
    expect(created.status()).toBe(201);
    const createdId = ((await created.json()) as { id: string }).id;

    const shown = await waitForWidgetText(checkout.page, /\bpaid\b/i);
    const detail = await waitForEvent(checkout.page, 'stk-pay-success', 5_000);
    const eventId = paymentIdOf(detail);
    expect(eventId, `stk-pay-success detail: ${JSON.stringify(detail)}`).toBe(createdId);

    const payment = await getPayment(rig.relay.url, createdId);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(RECEIPT_PATTERN);
    expect(shown).toContain(payment.receipt);
    expect(payment.amount).toBe(250);
    expect(payment.reference).toBe('INV-9');
    expect(payment.phone).not.toContain('0708374149');
    expect(payment.phone).not.toContain('708374149');
  });

  it('shows the cancellation for 0700000001, and the relay reports failed: cancelled', async () => {
    const checkout = await rig.openCheckout();
    const created = await payWithPhone(checkout.page, '0700000001');
    expect(created.status()).toBe(201);
    const id = ((await created.json()) as { id: string }).id;

    const shown = await waitForWidgetText(checkout.page, /cancel/i);
    expect(shown).not.toMatch(/\bpaid\b/i);

    const payment = await getPayment(rig.relay.url, id);
    expect(payment.status).toBe('failed');
    expect(payment.failure?.code).toBe('cancelled');
    expect(payment.receipt).toBeUndefined();
  });
});
