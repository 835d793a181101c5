/**
 * The DOM events <stk-pay> dispatches. All bubble and cross the shadow boundary (`composed`), so a
 * merchant can listen on the element, on a container or on `document`.
 */
import type { ErrorBody, PaymentView } from '@stk-pay/server/schemas';
import type { NewPayment } from './relay-client.js';

/** Why a payment could not be started (no payment exists): the relay's error, or `network_error`. */
export type StkPayErrorDetail = ErrorBody['error'] & { status?: number };

/** What Pay is about to send: `phone` is the canonical `2547XXXXXXXX`. */
export type StkPaySubmitDetail = NewPayment;

export interface StkPayEventMap {
  /** Pay was pressed with a valid number; cancelable: `preventDefault()` sends nothing. */
  'stk-pay-submit': CustomEvent<StkPaySubmitDetail>;
  /** The payment changed state (including the first state after Pay). */
  'stk-pay-status': CustomEvent<PaymentView>;
  /** The provider confirmed the payment; `detail.receipt` is the M-Pesa receipt when known. */
  'stk-pay-success': CustomEvent<PaymentView>;
  /** The provider confirmed the payment failed; `detail.failure` says why. */
  'stk-pay-failure': CustomEvent<PaymentView>;
  /** The payment could not be started (relay unreachable, refused the request). */
  'stk-pay-error': CustomEvent<StkPayErrorDetail>;
}

export type StkPayEventName = keyof StkPayEventMap;
export type StkPayEventDetail<K extends StkPayEventName> = StkPayEventMap[K]['detail'];

/** Dispatches one of the component's events from `host`; false when a listener cancelled it. */
export function emit<K extends StkPayEventName>(host: HTMLElement, name: K, detail: StkPayEventDetail<K>, cancelable?: boolean): boolean {
  return host.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true, cancelable }));
}

declare global {
  interface GlobalEventHandlersEventMap {
    'stk-pay-submit': StkPayEventMap['stk-pay-submit'];
    'stk-pay-status': StkPayEventMap['stk-pay-status'];
    'stk-pay-success': StkPayEventMap['stk-pay-success'];
    'stk-pay-failure': StkPayEventMap['stk-pay-failure'];
    'stk-pay-error': StkPayEventMap['stk-pay-error'];
  }
}
