/**
 * Everything the widget says, in English and Swahili: one object per language, the same shape.
 * Money is written `KES 1,250` in both (as M-Pesa writes it in its own messages).
 */
import { html, type TemplateResult } from 'lit/html.js';
import { PHONE_REASONS } from '@stk-pay/server/phone';
import type { FailureCode } from '@stk-pay/server/schemas';

const sentence = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1) + '.';

export const en = {
  reference: 'Reference',
  phoneLabel: 'M-Pesa phone number',
  // Same wording as the relay's API errors, so both say the same thing.
  phone: {
    empty: sentence(PHONE_REASONS.empty),
    characters: sentence(PHONE_REASONS.characters),
    length: sentence(PHONE_REASONS.length),
    prefix: sentence(PHONE_REASONS.prefix),
  },
  pay: (amount: string) => `Pay ${amount}`,
  sending: 'Sending…',
  checkPhone: 'Check your phone and enter your M-Pesa PIN',
  statusPending: (phone: string) => `Sending the payment request to ${phone}…`,
  statusAwaiting: (phone: string) => `The prompt on ${phone} stays open for about a minute.`,
  timeLeft: (time: string) => `${time} left`,
  confirming: 'Still confirming your payment',
  confirmingDetail: "M-Pesa hasn't answered yet. If you entered your PIN, don't pay again: this page updates as soon as the answer comes.",
  paid: 'Paid',
  receipt: (receipt: string) => `M-Pesa receipt ${receipt}`,
  notPaid: 'Payment not completed',
  tryAgain: 'Try again',
  failure: {
    cancelled: 'The payment was cancelled on the phone. No money was taken.',
    insufficient_funds: 'There is not enough money in the M-Pesa account for this payment.',
    wrong_pin: 'The M-Pesa PIN entered was wrong. No money was taken.',
    timeout: 'The M-Pesa prompt timed out before the PIN was entered. No money was taken.',
    unreachable: 'We could not reach the phone. Check it is on and has signal, then try again.',
    rejected: 'M-Pesa refused this payment request.',
    provider_error: 'The M-Pesa service had a problem with this payment. No money was taken.',
  } satisfies Record<FailureCode, string>,
  unreachable: "We can't reach the payment service. Check your connection and try again.",
  misconfigured: "This checkout isn't set up correctly. Please tell the shop.",
  noKey: 'The publishable-key attribute is missing.',
  badAmount: 'The amount attribute must be a whole number of shillings, at least 1.',
  // The relay says which rule (a prompt already open on this phone, a pause after failures…).
  rateLimited: (why: string) => why || 'Too many attempts. Please wait a moment and try again.',
  refused: (message: string): string | TemplateResult => `The payment could not be started: ${message}`,
};

export type Strings = typeof en;

export const sw: Strings = {
  reference: 'Kumbukumbu',
  phoneLabel: 'Nambari ya simu ya M-Pesa',
  phone: {
    empty: 'Weka nambari ya simu ya M-Pesa.',
    characters: 'Nambari ya simu ina tarakimu, nafasi, vistari na + mwanzoni tu.',
    length: 'Nambari ya simu ya Kenya ina tarakimu 10 (07XX XXX XXX au 01XX XXX XXX).',
    prefix: 'Tumia nambari ya M-Pesa ya Kenya inayoanza na 07 au 01 (au +254 7 / +254 1).',
  },
  pay: (amount) => `Lipa ${amount}`,
  sending: 'Inatuma…',
  checkPhone: 'Angalia simu yako na uweke PIN yako ya M-Pesa',
  statusPending: (phone) => `Tunatuma ombi la malipo kwa ${phone}…`,
  statusAwaiting: (phone) => `Ombi kwenye simu ${phone} hukaa wazi kwa takriban dakika moja.`,
  timeLeft: (time) => `Zimebaki ${time}`,
  confirming: 'Bado tunathibitisha malipo yako',
  confirmingDetail: 'M-Pesa bado haijajibu. Kama uliweka PIN yako, usilipe tena: ukurasa huu utabadilika jibu likifika.',
  paid: 'Imelipwa',
  receipt: (receipt) => `Nambari ya risiti ya M-Pesa ${receipt}`,
  notPaid: 'Malipo hayajakamilika',
  tryAgain: 'Jaribu tena',
  failure: {
    cancelled: 'Malipo yameghairiwa kwenye simu. Hakuna pesa iliyotolewa.',
    insufficient_funds: 'Salio la M-Pesa halitoshi kwa malipo haya.',
    wrong_pin: 'PIN ya M-Pesa iliyowekwa si sahihi. Hakuna pesa iliyotolewa.',
    timeout: 'Muda wa ombi la M-Pesa uliisha kabla PIN haijawekwa. Hakuna pesa iliyotolewa.',
    unreachable: 'Hatukuweza kufikia simu. Hakikisha imewashwa na ina mtandao, kisha ujaribu tena.',
    rejected: 'M-Pesa imekataa ombi hili la malipo.',
    provider_error: 'Huduma ya M-Pesa imepata tatizo na malipo haya. Hakuna pesa iliyotolewa.',
  },
  unreachable: 'Hatuwezi kufikia huduma ya malipo. Angalia muunganisho wako kisha ujaribu tena.',
  misconfigured: 'Malipo haya hayajawekwa ipasavyo. Tafadhali mjulishe muuzaji.',
  noKey: 'Sifa ya publishable-key haipo.',
  badAmount: 'Sifa ya amount lazima iwe idadi kamili ya shilingi, angalau 1.',
  rateLimited: () => 'Majaribio ni mengi mno. Tafadhali subiri kidogo kisha ujaribu tena.',
  // The relay's detail is English: marked so, a screen reader reads it with an English voice.
  refused: (message) => html`Malipo hayakuweza kuanzishwa: <span lang="en">${message}</span>`,
};

export type Language = 'en' | 'sw';

/** `sw`, `sw-KE`, `sw-TZ` → Swahili; anything else → English. */
export function languageOf(tag: string | undefined): Language {
  return /^sw\b/i.test(tag ?? '') ? 'sw' : 'en';
}

export const STRINGS: Record<Language, Strings> = { en, sw };
