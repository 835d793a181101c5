/**
 * The payment lifecycle as data. Every status change in the relay goes through `transition()`,
 * so a terminal payment can never change again, whatever callbacks arrive late or twice.
 *
 *   pending ──> awaiting_customer ──> succeeded
 *      │               │
 *      └───────────────┴────────────> failed(code)
 */
import type { PaymentStatus } from '../api/schemas.js';
export declare function isTerminal(status: PaymentStatus): boolean;
export type TransitionVerdict = {
    kind: 'apply';
}
/** Same status again (a duplicate callback): nothing to do. */
 | {
    kind: 'same';
}
/** Not allowed from here (late or out-of-order): record and ignore. */
 | {
    kind: 'ignore';
    reason: string;
};
export declare function transition(from: PaymentStatus, to: PaymentStatus): TransitionVerdict;
