/** The relay's public HTTP API, as a merchant's server or the bot calls it (no Origin header). */
import type { PaymentView } from '@stk-pay/server/schemas';

export const DEMO_PUBLISHABLE_KEY = 'pk_test_demo';

/** `GET /v1/payments/:id`; throws with the status and body unless the relay answers 200. */
export async function getPayment(relayUrl: string, id: string): Promise<PaymentView> {
  const response = await fetch(`${relayUrl}/v1/payments/${encodeURIComponent(id)}`, {
    headers: { 'X-Publishable-Key': DEMO_PUBLISHABLE_KEY },
    signal: AbortSignal.timeout(5_000),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /v1/payments/${id} answered ${response.status}: ${body}`);
  return JSON.parse(body) as PaymentView;
}

/** Polls `GET /v1/payments/:id` until the payment is terminal (succeeded or failed). Errors while the
 * relay is down are retried until the deadline. */
export async function waitForTerminal(relayUrl: string, id: string, timeoutMs: number): Promise<PaymentView> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const payment = await getPayment(relayUrl, id);
      if (payment.status === 'succeeded' || payment.status === 'failed') return payment;
      last = `status ${payment.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`payment ${id} was not terminal within ${timeoutMs} ms (last: ${last})`);
}

/** Polls `GET /v1/payments/:id` (every 25 ms) until the payment has `status`. */
export async function waitForStatus(relayUrl: string, id: string, status: PaymentView['status'], timeoutMs: number): Promise<PaymentView> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const payment = await getPayment(relayUrl, id);
    if (payment.status === status) return payment;
    last = payment.status;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`payment ${id} was not ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Sandbox receipts look like M-Pesa's: 10 upper-case letters and digits. */
export const RECEIPT_PATTERN = /^[A-Z0-9]{10}$/;
