/**
 * The payment a checkout has open, kept in sessionStorage so that reloading the page while the
 * PIN prompt is on the phone follows that payment instead of sending a second prompt. One entry per
 * checkout (publishable key, amount, reference and description); removed once the payment is final.
 * It is written before the Pay request leaves: a reload while the request is on its way, or after
 * its answer was lost, sends it again with the same Idempotency-Key, which the relay answers with
 * the payment it made (no second prompt).
 */
export interface OpenPayment {
  /** The payment; none yet while its Pay request is on its way or its answer was lost. */
  id?: string;
  /** When the prompt (or the Pay request) was sent (this browser's clock), for the countdown. */
  sentAt: number;
  /** The Pay request's Idempotency-Key and body, until its answer comes: sent again as they were. */
  key?: string;
  body?: string;
}

export interface Checkout {
  publishableKey: string;
  amount: number;
  reference: string;
  description: string;
}

/** Two checkouts of one amount without references (two products) differ by what they are for. */
export const openPaymentKey = ({ publishableKey, amount, reference, description }: Checkout): string =>
  `stk-pay:${publishableKey}:${amount}:${reference}:${description}`;

/** sessionStorage throws where storage is blocked (sandboxed frames, some private modes): then the
 * widget simply does not resume. */
function withStorage<T>(use: (storage: Storage) => T): T | undefined {
  try {
    return use(sessionStorage);
  } catch {
    return undefined;
  }
}

export function readOpenPayment(key: string): OpenPayment | undefined {
  return withStorage((storage) => {
    const open = (JSON.parse(storage.getItem(key) ?? '{}') ?? {}) as Partial<OpenPayment>;
    // Written only by this script: an entry has its id, or its request (key and body).
    return typeof open.sentAt === 'number' ? (open as OpenPayment) : undefined;
  });
}

export function saveOpenPayment(key: string, open: OpenPayment): void {
  withStorage((storage) => storage.setItem(key, JSON.stringify(open)));
}

export function forgetOpenPayment(key: string): void {
  withStorage((storage) => storage.removeItem(key));
}
