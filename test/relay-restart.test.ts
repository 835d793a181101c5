/**
 * Crash safety: the relay is SIGKILLed while a payment is waiting for the customer, and restarted on
 * the same database file and port. The sandbox number 0700000005 never sends a callback; only the
 * provider's status query tells that it was paid, so the payment can end `succeeded` only if the
 * restarted relay resumes asking the provider about payments the crash left open.
 */
import { describe, expect, it } from 'vitest';
import { getPayment, RECEIPT_PATTERN, waitForStatus, waitForTerminal } from './support/api.js';
import { payWithPhone, waitForWidgetText } from './support/browser.js';
import { useDemoRig } from './support/demo-rig.js';

/** How long the sandbox customer takes to answer the prompt. Longer than the usual 300 ms so that
 * the kill below lands, measurably, before the payment can have an answer. */
const SANDBOX_DELAY_MS = 2_000;

const rig = useDemoRig({ env: { SANDBOX_DELAY_MS: String(SANDBOX_DELAY_MS) } });

describe('relay crash while a payment is open', () => {
  it('a 0700000005 payment open when the relay is SIGKILLed ends succeeded after a restart on the same database, and the open checkout shows Paid', async () => {
    const checkout = await rig.openCheckout();
    const beforePay = Date.now();
    const created = await payWithPhone(checkout.page, '0700000005');
    expect(created.status()).toBe(201);
    const createdBody = (await created.json()) as { id: string; status: string };
    // The relay answers 201 before it pushes (in the background); wait until the provider accepted
    // the push (its reference is stored) so the crash hits a payment waiting for the customer.
    await waitForStatus(rig.relay.url, createdBody.id, 'awaiting_customer', 1_500);
    const pidBefore = rig.relay.pid;
    await rig.relay.kill('SIGKILL');
    // The push happened after beforePay, so the sandbox customer had not answered yet: the payment
    // was open when the relay died.
    expect(Date.now() - beforePay).toBeLessThan(SANDBOX_DELAY_MS);

    await rig.relay.restart();
    expect(rig.relay.pid).not.toBe(pidBefore);
    expect((await getPayment(rig.relay.url, createdBody.id)).id).toBe(createdBody.id);

    const payment = await waitForTerminal(rig.relay.url, createdBody.id, 30_000);
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(RECEIPT_PATTERN);

    // The customer's page stayed open through the crash; its status stream reconnects.
    const shown = await waitForWidgetText(checkout.page, /\bpaid\b/i, 20_000);
    expect(shown).toContain(payment.receipt);
  });
});
