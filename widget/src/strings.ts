/**
 * Everything the customer reads, keyed by message id. English only for now; another language is
 * one more object of the same shape (`sw: Strings`) chosen by a `lang` attribute.
 */
import { PHONE_REASONS } from '@stk-pay/server/phone';
import type { FailureCode } from '@stk-pay/server/schemas';

const sentence = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1) + '.';

export const en = {
  amount: (formatted: string) => `KES ${formatted}`,
  reference: 'Reference',
  phoneLabel: 'M-Pesa phone number',
  phonePlaceholder: '07XX XXX XXX',
  phoneEmpty: sentence(PHONE_REASONS.empty),
  phoneCharacters: sentence(PHONE_REASONS.characters),
  phoneLength: sentence(PHONE_REASONS.length),
  phonePrefix: sentence(PHONE_REASONS.prefix),
  pay: (amount: string) => `Pay ${amount}`,
  sending: 'Sending…',
  checkPhone: 'Check your phone and enter your M-Pesa PIN',
  statusPending: (phone: string) => `Sending the payment request to ${phone}…`,
  statusAwaiting: (phone: string) => `The M-Pesa prompt is on ${phone}. Waiting for your PIN…`,
  paid: 'Paid',
  receipt: (receipt: string) => `M-Pesa receipt ${receipt}`,
  notPaid: 'Payment not completed',
  tryAgain: 'Try again',
  failure: {
    cancelled: 'The payment was cancelled on the phone. No money was taken.',
    insufficient_funds: 'There is not enough money in the M-Pesa account for this payment.',
    wrong_pin: 'The M-Pesa PIN entered was wrong. No money was taken.',
    timeout: 'The M-Pesa prompt timed out before the PIN was entered.',
    unreachable: 'We could not reach the phone. Check it is on and has signal, then try again.',
    rejected: 'M-Pesa refused this payment request.',
    provider_error: 'The M-Pesa service had a problem with this payment. No money was taken.',
  } satisfies Record<FailureCode, string>,
  unreachable: "We can't reach the payment service. Check your connection and try again.",
  misconfigured: "This checkout isn't set up correctly. Please tell the shop.",
  badAmount: 'This checkout has no valid amount. Please tell the shop.',
  idempotencyConflict: 'This payment was already started with different details. Please try again.',
  rateLimited: (seconds: number | undefined) =>
    seconds === undefined
      ? 'Too many attempts. Please wait a moment and try again.'
      : `Too many attempts. Please wait ${seconds} seconds and try again.`,
  refused: (message: string) => `The payment could not be started: ${message}`,
};

export type Strings = typeof en;
