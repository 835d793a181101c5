/** What the customer sees: the offer with its buttons, and a payment at each of its states. */
import { InlineKeyboard } from 'grammy';
import type { PaymentView } from '@stk-pay/server/schemas';
import { localMasked, type Strings, type Terms } from './i18n.js';

export interface MessageView {
  text: string;
  keyboard?: InlineKeyboard;
}

/** Callback data of the buttons (at most 64 bytes each). */
export const PAY = 'pay';
export const CANCEL = 'cancel';
export const TRY_AGAIN = /^again:(pay_[A-Za-z0-9]{1,40})$/;
const tryAgainData = (paymentId: string) => `again:${paymentId}`;

export function offerKeyboard(t: Strings, amount: number): InlineKeyboard {
  return new InlineKeyboard().text(t.payButton(amount), PAY).text(t.cancelButton, CANCEL);
}

export function tryAgainKeyboard(t: Strings, failedPaymentId: string): InlineKeyboard {
  return new InlineKeyboard().text(t.tryAgainButton, tryAgainData(failedPaymentId));
}

function termsOf(payment: PaymentView): Terms {
  return { amount: payment.amount, reference: payment.reference, description: payment.description };
}

/** The status message of a payment. */
export function paymentView(payment: PaymentView, t: Strings): MessageView {
  const terms = termsOf(payment);
  const phone = localMasked(payment.phone);
  switch (payment.status) {
    case 'pending':
      return { text: t.promptOnItsWay(terms, phone) };
    case 'awaiting_customer':
      return { text: t.checkPhone(terms, phone) };
    case 'succeeded':
      return { text: t.paid(terms, payment.receipt) };
    case 'failed':
      return {
        text: t.notPaid(terms, t.failure[payment.failure?.code ?? 'provider_error']),
        keyboard: tryAgainKeyboard(t, payment.id),
      };
    default:
      return { text: t.checkPhone(terms, phone) };
  }
}

/** Two states that look the same to the customer have the same key (no edit between them). */
export function viewKey(payment: PaymentView): string {
  return payment.status === 'failed' ? `failed:${payment.failure?.code ?? ''}` : payment.status;
}

export function resultUnknownView(terms: Terms, t: Strings): MessageView {
  return { text: t.resultUnknown(terms) };
}
