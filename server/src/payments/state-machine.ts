/**
 * The payment lifecycle as data. Every status change in the relay goes through `transition()`,
 * so a terminal payment can never change again, whatever callbacks arrive late or twice.
 *
 *   pending ──> awaiting_customer ──> succeeded
 *      │  │            │                  ^
 *      │  └────────────┼──────────────────┘  (a push whose answer was lost, paid)
 *      └───────────────┴────────────> failed(code)
 */
import type { PaymentStatus } from '../api/schemas.js';

const ALLOWED: Record<PaymentStatus, readonly PaymentStatus[]> = {
  pending: ['awaiting_customer', 'succeeded', 'failed'],
  awaiting_customer: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export function isTerminal(status: PaymentStatus): boolean {
  return ALLOWED[status].length === 0;
}

export type TransitionVerdict =
  | { kind: 'apply' }
  /** Same status again (a duplicate callback): nothing to do. */
  | { kind: 'same' }
  /** Not allowed from here (late or out-of-order): record and ignore. */
  | { kind: 'ignore'; reason: string };

export function transition(from: PaymentStatus, to: PaymentStatus): TransitionVerdict {
  if (from === to) return { kind: 'same' };
  if (ALLOWED[from].includes(to)) return { kind: 'apply' };
  return { kind: 'ignore', reason: isTerminal(from) ? `already ${from}` : `${from} cannot become ${to}` };
}
