/**
 * What the bot says, in English and Swahili, chosen from the customer's Telegram language
 * (`language_code` starting with `sw` → Swahili, anything else → English). Plain text, no markup,
 * so a reference or a relay message can never break the formatting.
 */
import type { FailureCode } from '@stk-pay/server/schemas';
import type { PhoneResult } from '@stk-pay/server/phone';

export type Lang = 'en' | 'sw';
type PhoneReason = Exclude<PhoneResult, { ok: true }>['reason'];

export function langOf(languageCode: string | undefined): Lang {
  return languageCode?.toLowerCase().startsWith('sw') ? 'sw' : 'en';
}

/** `KES 1,250`. */
export function kes(amount: number): string {
  return `KES ${String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** What is being paid: amount, and the reference and description when there are any. */
export interface Terms {
  amount: number;
  reference?: string | null;
  description?: string | null;
}

export interface Strings {
  welcome(shop: string): string;
  help: string;
  commands: { pay: string; cancel: string; help: string };
  payUsage: string;
  /** /pay or /start in a group: a link to a private chat with the bot. */
  payPrivately(link: string): string;
  amountInvalid(input: string): string;
  linkBroken: string;
  askPhone(terms: Terms): string;
  shareButton: string;
  notOwnContact: string;
  phoneRefused: Record<PhoneReason, string>;
  notKenyanContact: string;
  nothingToDo: string;
  phoneNoted(phone: string): string;
  confirm(terms: Terms, phone: string): string;
  payButton(amount: number): string;
  cancelButton: string;
  tryAgainButton: string;
  cancelled: string;
  /** /cancel when a prompt may already be on the phone: it cannot be called back from here. */
  cancelledPromptSent: string;
  /** The answer to [Cancel] on an offer whose prompt was sent (a button notice, at most 200 characters). */
  promptAlreadySent: string;
  nothingToCancel: string;
  offerGone: string;
  promptOnItsWay(terms: Terms, phone: string): string;
  checkPhone(terms: Terms, phone: string): string;
  paid(terms: Terms, receipt: string | undefined): string;
  notPaid(terms: Terms, reason: string): string;
  failure: Record<FailureCode, string>;
  resultUnknown(terms: Terms): string;
  relayDown: string;
  relayDownAtPay: string;
  keyRefused: string;
  amountRefused(detail: string): string;
  linksOnly: string;
  linkRefused(detail: string): string;
  referenceRefused(detail: string): string;
  tooMany(code: string, relayMessage: string, retryAfterSeconds: number | undefined): string;
  somethingWrong: string;
}

/** `text`, or its first `max - 1` characters and `…`: what the customer typed or a merchant signed may be long. */
export function shorten(text: string, max: number): string {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join('').trimEnd()}…`;
}

/**
 * A signed checkout token may carry a reference and description of any length (the relay takes them
 * from the token): what is shown is cut to the relay's own limits for typed ones, so no message
 * nears Telegram's 4,096 characters.
 */
const REFERENCE_SHOWN = 64;
const DESCRIPTION_SHOWN = 140;

/** What the customer typed, quoted back: enough to recognise it (a message may be 4,096 characters). */
const echoed = (input: string) => shorten(input, 30);

const forWhat = (terms: Terms, word: string) =>
  `${kes(terms.amount)}${terms.reference ? ` ${word} ${shorten(terms.reference, REFERENCE_SHOWN)}` : ''}${terms.description ? ` (${shorten(terms.description, DESCRIPTION_SHOWN)})` : ''}`;

const en: Strings = {
  welcome: (shop) =>
    `Welcome to ${shop}'s M-Pesa checkout.\n\n` +
    'To pay, send /pay with the amount in shillings and, if you have one, the invoice or order number: /pay 250 INV-9\n' +
    'The M-Pesa PIN prompt comes to your phone, and this chat shows when the payment has gone through.',
  help:
    '/pay 250 INV-9 – pay KES 250 for invoice INV-9 (the number is optional)\n' +
    '/cancel – stop the payment you are setting up\n' +
    '/help – this message\n\n' +
    "A payment link from the shop opens this chat with the amount filled in. If the shop sent a long payment code instead, paste it after /pay.",
  commands: { pay: 'Pay, e.g. /pay 250 INV-9', cancel: 'Stop the payment you are setting up', help: 'How to pay' },
  payUsage: 'Send the amount after /pay, in whole shillings: /pay 250, or /pay 250 INV-9 with your invoice number.',
  payPrivately: (link) => `To pay, message me privately, so your phone number stays out of this group: ${link}`,
  amountInvalid: (input) => `"${echoed(input)}" is not an amount. Send whole shillings, for example /pay 250.`,
  linkBroken: 'This payment link is incomplete or damaged. Ask the shop to send it again, or paste the payment code it sent after /pay.',
  askPhone: (terms) =>
    `Pay ${forWhat(terms, 'for')}.\n\nWhich M-Pesa number should get the PIN prompt? Tap "Share my phone number" below, or type the number (07XX XXX XXX).`,
  shareButton: '📱 Share my phone number',
  notOwnContact: 'Please share your own number with the button below, or type the M-Pesa number.',
  phoneRefused: {
    empty: 'Type the M-Pesa phone number, for example 0712 345 678.',
    characters: 'A phone number has only digits, spaces and dashes. Type it like 0712 345 678.',
    length: 'A Kenyan mobile number has 10 digits (07XX XXX XXX or 01XX XXX XXX). Please type it again.',
    prefix: 'That is not a Kenyan M-Pesa number. Use one that starts with 07 or 01 (or +254 7 / +254 1).',
  },
  notKenyanContact: 'That number is not a Kenyan M-Pesa number. Type the M-Pesa number (07XX XXX XXX) instead.',
  nothingToDo: 'To pay, send /pay and the amount, for example /pay 250. /help shows what I can do.',
  phoneNoted: (phone) => `M-Pesa number: ${phone}`,
  confirm: (terms, phone) => `Pay ${forWhat(terms, 'for')} from M-Pesa ${phone}?\n\nPress Pay and the PIN prompt will appear on that phone.`,
  payButton: (amount) => `Pay ${kes(amount)}`,
  cancelButton: 'Cancel',
  tryAgainButton: 'Try again',
  cancelled: 'Cancelled. Nothing was sent to your phone.',
  cancelledPromptSent: 'Cancelled. If a PIN prompt is already on your phone, you can decline it there.',
  promptAlreadySent: 'The PIN prompt was already sent. To cancel, decline it on your phone.',
  nothingToCancel: 'There is nothing to cancel. If a PIN prompt is on your phone, you can decline it there.',
  offerGone: 'This payment is no longer open. Send /pay to start again.',
  promptOnItsWay: (terms, phone) => `📲 Check your phone: the M-Pesa prompt for ${forWhat(terms, 'for')} is on its way to ${phone}.`,
  checkPhone: (terms, phone) => `📲 Check your phone (${phone}): enter your M-Pesa PIN to pay ${forWhat(terms, 'for')}.`,
  paid: (terms, receipt) => `✅ Paid ${forWhat(terms, 'for')}.${receipt ? `\nM-Pesa receipt: ${receipt}` : ''}\nThank you!`,
  notPaid: (terms, reason) => `❌ Not paid: ${reason}\n${forWhat(terms, 'for')}. No money was taken.`,
  failure: {
    cancelled: 'you cancelled the request on your phone.',
    insufficient_funds: 'your M-Pesa balance was not enough.',
    wrong_pin: 'the M-Pesa PIN was wrong.',
    timeout: 'the prompt was not answered in time.',
    unreachable: 'your phone could not be reached. Check that it is on and has network.',
    rejected: 'M-Pesa refused the request.',
    provider_error: 'the payment service had a problem.',
  },
  resultUnknown: (terms) =>
    `We could not get the result of the payment of ${forWhat(terms, 'for')}. Check your M-Pesa messages; the shop can see the payment too.`,
  relayDown: 'The payment service is not answering right now. Please try again in a minute.',
  relayDownAtPay: '⚠️ The payment service is not answering right now. Press the button again in a moment: you will not be charged twice.',
  keyRefused: "This shop's payment bot is not set up correctly and cannot take payments now. Please tell the shop.",
  amountRefused: (detail) => `The shop does not accept this amount: ${detail}.`,
  linksOnly: 'This shop takes payments only through its own payment links. Please ask the shop for a link.',
  linkRefused: (detail) => `This payment link cannot be used: it ${detail}.`,
  referenceRefused: (detail) => `That invoice or order number cannot be used: it ${detail}.`,
  tooMany: (_code, relayMessage) => relayMessage,
  somethingWrong: 'Something went wrong on our side. If a PIN prompt reached your phone you can still answer it; otherwise please try again.',
};

const subiri = (seconds: number | undefined) => {
  if (seconds === undefined) return 'kidogo';
  if (seconds >= 90 * 60) return `saa ${Math.round(seconds / 3600)}`;
  if (seconds >= 90) return `dakika ${Math.ceil(seconds / 60)}`;
  return `sekunde ${seconds}`;
};

const sw: Strings = {
  welcome: (shop) =>
    `Karibu kwenye malipo ya M-Pesa ya ${shop}.\n\n` +
    'Ili kulipa, tuma /pay pamoja na kiasi kwa shilingi na, kama unayo, namba ya ankara au oda: /pay 250 INV-9\n' +
    'Ombi la PIN ya M-Pesa litakuja kwenye simu yako, na mazungumzo haya yataonyesha malipo yakikamilika.',
  help:
    '/pay 250 INV-9 – lipa KES 250 kwa ankara INV-9 (namba si lazima)\n' +
    '/cancel – sitisha malipo unayoandaa\n' +
    '/help – ujumbe huu\n\n' +
    'Kiungo cha malipo kutoka dukani hufungua mazungumzo haya na kiasi kikiwa tayari. Kama duka lilikutumia msimbo mrefu wa malipo, ubandike baada ya /pay.',
  commands: { pay: 'Lipa, mfano /pay 250 INV-9', cancel: 'Sitisha malipo unayoandaa', help: 'Jinsi ya kulipa' },
  payUsage: 'Tuma kiasi baada ya /pay, kwa shilingi kamili: /pay 250, au /pay 250 INV-9 pamoja na namba ya ankara.',
  payPrivately: (link) => `Ili kulipa, niandikie faragha, ili namba yako ya simu isionekane kwenye kikundi hiki: ${link}`,
  amountInvalid: (input) => `"${echoed(input)}" si kiasi. Tuma shilingi kamili, kwa mfano /pay 250.`,
  linkBroken: 'Kiungo hiki cha malipo hakijakamilika au kimeharibika. Omba duka likitume tena, au ubandike msimbo wa malipo baada ya /pay.',
  askPhone: (terms) =>
    `Lipa ${forWhat(terms, 'kwa')}.\n\nNamba gani ya M-Pesa ipokee ombi la PIN? Bonyeza "Tuma namba yangu ya simu" hapa chini, au andika namba (07XX XXX XXX).`,
  shareButton: '📱 Tuma namba yangu ya simu',
  notOwnContact: 'Tafadhali tuma namba yako mwenyewe kwa kitufe kilicho hapa chini, au andika namba ya M-Pesa.',
  phoneRefused: {
    empty: 'Andika namba ya simu ya M-Pesa, kwa mfano 0712 345 678.',
    characters: 'Namba ya simu ina tarakimu, nafasi na vistari tu. Iandike kama 0712 345 678.',
    length: 'Namba ya simu ya Kenya ina tarakimu 10 (07XX XXX XXX au 01XX XXX XXX). Tafadhali iandike tena.',
    prefix: 'Hiyo si namba ya M-Pesa ya Kenya. Tumia inayoanza na 07 au 01 (au +254 7 / +254 1).',
  },
  notKenyanContact: 'Namba hiyo si ya M-Pesa ya Kenya. Andika namba ya M-Pesa (07XX XXX XXX) badala yake.',
  nothingToDo: 'Ili kulipa, tuma /pay na kiasi, kwa mfano /pay 250. /help inaonyesha ninachoweza kufanya.',
  phoneNoted: (phone) => `Namba ya M-Pesa: ${phone}`,
  confirm: (terms, phone) => `Ulipe ${forWhat(terms, 'kwa')} kutoka M-Pesa ${phone}?\n\nBonyeza Lipa na ombi la PIN litatokea kwenye simu hiyo.`,
  payButton: (amount) => `Lipa ${kes(amount)}`,
  cancelButton: 'Ghairi',
  tryAgainButton: 'Jaribu tena',
  cancelled: 'Imeghairiwa. Hakuna kilichotumwa kwenye simu yako.',
  cancelledPromptSent: 'Imeghairiwa. Kama ombi la PIN tayari liko kwenye simu yako, unaweza kulikataa hapo.',
  promptAlreadySent: 'Ombi la PIN limeshatumwa. Ili kughairi, likatae kwenye simu yako.',
  nothingToCancel: 'Hakuna cha kughairi. Kama ombi la PIN liko kwenye simu yako, unaweza kulikataa hapo.',
  offerGone: 'Malipo haya hayako wazi tena. Tuma /pay kuanza upya.',
  promptOnItsWay: (terms, phone) => `📲 Angalia simu yako: ombi la M-Pesa la ${forWhat(terms, 'kwa')} linatumwa kwa ${phone}.`,
  checkPhone: (terms, phone) => `📲 Angalia simu yako (${phone}): weka PIN yako ya M-Pesa ili kulipa ${forWhat(terms, 'kwa')}.`,
  paid: (terms, receipt) => `✅ Umelipa ${forWhat(terms, 'kwa')}.${receipt ? `\nRisiti ya M-Pesa: ${receipt}` : ''}\nAsante!`,
  notPaid: (terms, reason) => `❌ Haijalipwa: ${reason}\n${forWhat(terms, 'kwa')}. Hakuna pesa iliyotolewa.`,
  failure: {
    cancelled: 'ulighairi ombi kwenye simu yako.',
    insufficient_funds: 'salio lako la M-Pesa halitoshi.',
    wrong_pin: 'PIN ya M-Pesa haikuwa sahihi.',
    timeout: 'ombi halikujibiwa kwa wakati.',
    unreachable: 'simu yako haikupatikana. Hakikisha imewashwa na ina mtandao.',
    rejected: 'M-Pesa ilikataa ombi hili.',
    provider_error: 'huduma ya malipo ilipata hitilafu.',
  },
  resultUnknown: (terms) =>
    `Hatukuweza kupata matokeo ya malipo ya ${forWhat(terms, 'kwa')}. Angalia ujumbe wako wa M-Pesa; duka pia linaweza kuona malipo haya.`,
  relayDown: 'Huduma ya malipo haijibu kwa sasa. Tafadhali jaribu tena baada ya dakika moja.',
  relayDownAtPay: '⚠️ Huduma ya malipo haijibu kwa sasa. Bonyeza kitufe tena baada ya muda mfupi: hutatozwa mara mbili.',
  keyRefused: 'Boti ya malipo ya duka hili haijawekwa sawa na haiwezi kupokea malipo sasa. Tafadhali liarifu duka.',
  amountRefused: (detail) => `Duka halikubali kiasi hiki (${detail}).`,
  linksOnly: 'Duka hili linapokea malipo kupitia viungo vyake vya malipo tu. Tafadhali omba duka likutumie kiungo.',
  linkRefused: (detail) => `Kiungo hiki cha malipo hakiwezi kutumika (it ${detail}).`,
  referenceRefused: (detail) => `Namba hiyo ya ankara au oda haiwezi kutumika (it ${detail}).`,
  tooMany: (code, relayMessage, seconds) => {
    switch (code) {
      case 'phone_busy':
        return `Tayari kuna ombi la malipo lililo wazi kwenye simu hii. Lijibu, au subiri ${subiri(seconds)} kisha ujaribu tena.`;
      case 'duplicate_payment':
        return `Kiasi hiki hiki kimeombwa kutoka simu hii sasa hivi. M-Pesa haikubali kurudia ndani ya dakika 2: subiri ${subiri(seconds)}.`;
      case 'phone_cooldown':
        return `Malipo kadhaa kwenye simu hii hayakufaulu. Ili kuilinda isizuiliwe na M-Pesa, subiri ${subiri(seconds)} kabla ya kujaribu tena.`;
      case 'merchant_paused':
        return `Duka hili limesitisha maombi ya M-Pesa kwa muda baada ya malipo mengi kushindwa. Tafadhali jaribu tena baada ya ${subiri(seconds)}.`;
      case 'rate_limited':
        return `Maombi mengi ya malipo kwa wakati mmoja. Tafadhali subiri ${subiri(seconds)} kisha ujaribu tena.`;
      default:
        return relayMessage;
    }
  },
  somethingWrong: 'Kuna hitilafu upande wetu. Kama ombi la PIN limefika kwenye simu yako bado unaweza kulijibu; la sivyo tafadhali jaribu tena.',
};

export const STRINGS: Record<Lang, Strings> = { en, sw };

/** `254708374149` → `0708 374 149`: the customer's own number, as Kenyans write it. */
export function localPhone(msisdn: string): string {
  const local = `0${msisdn.slice(3)}`;
  return `${local.slice(0, 4)} ${local.slice(4, 7)} ${local.slice(7)}`;
}

/** The relay's masked `2547•••••149` → `07•••••149`. */
export function localMasked(masked: string): string {
  return masked.startsWith('254') ? `0${masked.slice(3)}` : masked;
}
