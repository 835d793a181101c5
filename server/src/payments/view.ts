/** The public view of a payment: what the widget, the bot and SSE see. Never the full phone number. */
import type { FailureCode, MerchantPaymentView, PaymentView } from '../api/schemas.js';
import { maskPhone } from '../phone.js';
import type { PaymentRecord } from '../store/types.js';

/** Our own words for each failure; the provider's raw text stays in the store for the merchant. */
export const FAILURE_MESSAGES: Record<FailureCode, string> = {
  cancelled: 'The payment was cancelled on the phone.',
  insufficient_funds: 'The M-Pesa balance is not enough for this payment.',
  wrong_pin: 'The M-Pesa PIN entered was wrong.',
  timeout: 'The prompt expired before it was answered.',
  unreachable: 'The phone could not be reached. Check it is on and has signal.',
  rejected: 'The payment provider refused this request.',
  provider_error: 'The payment provider had a problem. No money was taken.',
};

export function toView(payment: PaymentRecord): PaymentView {
  return {
    id: payment.id,
    status: payment.status,
    amount: payment.amount,
    currency: 'KES',
    reference: payment.reference,
    description: payment.description,
    phone: maskPhone(payment.phone),
    provider: payment.provider,
    ...(payment.status === 'failed' && payment.failureCode
      ? { failure: { code: payment.failureCode, message: FAILURE_MESSAGES[payment.failureCode] } }
      : {}),
    ...(payment.receipt ? { receipt: payment.receipt } : {}),
    seq: payment.seq,
    createdAt: new Date(payment.createdAt).toISOString(),
    updatedAt: new Date(payment.updatedAt).toISOString(),
  };
}

/** The merchant's view (secret key): the full phone number and the provider's own failure text. */
export function toMerchantView(payment: PaymentRecord): MerchantPaymentView {
  const view = toView(payment);
  return {
    ...view,
    phone: payment.phone,
    merchantId: payment.merchantId,
    ...(view.failure
      ? { failure: { ...view.failure, ...(payment.failureMessage ? { providerMessage: payment.failureMessage } : {}) } }
      : {}),
    ...(reviewReason(payment) ? { review: { reason: reviewReason(payment)! } } : {}),
  };
}

/**
 * Why a payment needs the merchant's eyes: the relay will never call it paid or failed on its own
 * word, and here it has no way left to ask the provider.
 */
export function reviewReason(payment: PaymentRecord): string | undefined {
  // A final payment keeps only a reason given after it ended (reported paid after it failed).
  if (payment.status === 'succeeded' || payment.status === 'failed') return payment.reviewReason ?? undefined;
  if (payment.reviewReason) return payment.reviewReason;
  if (payment.pushState === 'sent' && payment.providerRef === null && payment.checkAttempts > 0) {
    return 'The push may have reached the provider, but its answer was lost and the relay has no reference to ask about it. Only the provider\'s callback can settle it now: check the provider\'s dashboard.';
  }
  if (payment.pushState === 'sent' && payment.nextCheckAt === null) {
    return 'The provider gave no final answer within a day of the push. Check the provider\'s dashboard.';
  }
  return undefined;
}
