/**
 * Payment links: a merchant signs a checkout token, the bot's link carries it (compact, within
 * Telegram's 64-character /start payload), and the customer pays exactly the signed amount. This
 * merchant takes only signed amounts, so a free /pay is refused and an altered link too.
 */
import { createCheckoutToken } from '@stk-pay/server/merchant';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toStartPayload } from './checkout-link.js';
import { paymentsFor, startHarness, type Harness } from './testing/harness.js';

let harness: Harness;
let nextUser = 2000;

beforeAll(async () => {
  harness = await startHarness({ requireToken: true });
});

afterAll(async () => {
  await harness?.close();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`bot logs:\n${harness.logs.join('\n')}`);
});

function linkPayload(amount: number, reference: string, expiresInSeconds = 900): string {
  const compact = toStartPayload(createCheckoutToken({ merchant: 'demo', amount, reference, expiresInSeconds }, harness.secretKey));
  if (!compact.ok) throw new Error(compact.reason);
  return compact.value;
}

describe('payment links', () => {
  it("pays the token's amount and reference from a /start link", async () => {
    const user = harness.telegram.user(nextUser++);
    const payload = linkPayload(250, 'INV-9');
    expect(payload.length).toBeLessThanOrEqual(64);
    user.send(`/start ${payload}`);
    const ask = await user.waitForMessage(/Which M-Pesa number/);
    expect(ask.text).toMatch(/^Pay KES 250 for INV-9\./);
    user.send('0708374149');
    const confirmation = await user.waitForMessage(/from M-Pesa/);
    user.press(confirmation, 'Pay KES 250');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 250 for INV-9/.test(confirmation.text));
    const payments = await paymentsFor(harness, 'INV-9');
    expect(payments.map((payment) => [payment.amount, payment.status])).toEqual([[250, 'succeeded']]);
  });

  it('refuses a link whose amount was altered, before asking for a phone number', async () => {
    const user = harness.telegram.user(nextUser++);
    const genuine = linkPayload(2500, 'INV-10');
    // The amount is the base-36 field before the reference: 2500 → 1d4, made 25 → p.
    const altered = genuine.replace(`-${(2500).toString(36)}-INV-10`, `-${(25).toString(36)}-INV-10`);
    expect(altered).not.toBe(genuine);
    user.send(`/start ${altered}`);
    const refusal = await user.waitForMessage(/cannot be used/);
    expect(refusal.text).toContain('not signed by this merchant');
    expect(user.messages.some((message) => /Which M-Pesa number/.test(message.text))).toBe(false);
    expect(await paymentsFor(harness, 'INV-10')).toHaveLength(0);
  });

  it('refuses an expired link and a damaged one with words the customer can act on', async () => {
    const user = harness.telegram.user(nextUser++);
    user.send(`/start ${linkPayload(100, 'OLD-1', -60)}`);
    await user.waitForMessage(/has expired; ask the shop for a new payment link/);
    user.send('/start not-a-payment-link');
    await user.waitForMessage(/incomplete or damaged/);
  });

  it('takes a full token pasted after /pay, description included', async () => {
    const user = harness.telegram.user(nextUser++);
    const token = createCheckoutToken({ merchant: 'demo', amount: 640, reference: 'ORDER 77/B', description: '2 bags of flour' }, harness.secretKey);
    expect(toStartPayload(token).ok).toBe(false);
    user.send(`/pay ${token}`);
    await user.waitForMessage(/Pay KES 640 for ORDER 77\/B \(2 bags of flour\)/);
    user.send('0708374149');
    const confirmation = await user.waitForMessage(/from M-Pesa/);
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 640 for ORDER 77\/B/.test(confirmation.text));
  });

  it('takes a pasted token whose reference and description only a token may carry, sending the relay the token alone and showing a long description cut', async () => {
    const user = harness.telegram.user(nextUser++);
    const description = `Order: ${'2 bags of maize flour, 1 crate of eggs, 3 loaves of bread; '.repeat(30)}delivery to Kilimani`;
    const token = createCheckoutToken({ merchant: 'demo', amount: 640, reference: 'INV-78 (Mama)', description }, harness.secretKey);
    user.send(`/pay ${token}`);
    const ask = await user.waitForMessage(/Which M-Pesa number/);
    expect(ask.text).toMatch(/^Pay KES 640 for INV-78 \(Mama\) \(Order: 2 bags of maize flour/);
    expect(ask.text).toContain('…)');
    expect(ask.text.length).toBeLessThan(500);
    user.send('0708374149');
    const confirmation = await user.waitForMessage(/from M-Pesa/);
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 640 for INV-78 \(Mama\)/.test(confirmation.text));
    expect(confirmation.history.every((text) => text.length < 500)).toBe(true);
  });

  it('refuses a free /pay amount where the merchant takes only signed links', async () => {
    const user = harness.telegram.user(nextUser++);
    user.send('/pay 250 INV-11');
    await user.waitForMessage(/takes payments only through its own payment links/);
    expect(user.messages.some((message) => /Which M-Pesa number/.test(message.text))).toBe(false);
  });
});
