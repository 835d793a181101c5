/**
 * The payment a checkout has open, kept in sessionStorage so that reloading the page while the
 * PIN prompt is on the phone follows that payment instead of sending a second prompt. One entry per
 * checkout (publishable key, amount, reference and description); removed once the payment is final.
 */
export interface OpenPayment {
  id: string;
  /** When the prompt was sent (this browser's clock), for the countdown. */
  sentAt: number;
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
    const { id, sentAt } = (JSON.parse(storage.getItem(key) ?? '{}') ?? {}) as Partial<OpenPayment>;
    return typeof id === 'string' && typeof sentAt === 'number' ? { id, sentAt } : undefined;
  });
}

export function saveOpenPayment(key: string, open: OpenPayment): void {
  withStorage((storage) => storage.setItem(key, JSON.stringify(open)));
}

export function forgetOpenPayment(key: string): void {
  withStorage((storage) => storage.removeItem(key));
}
