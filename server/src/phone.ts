/**
 * Kenyan mobile numbers as M-Pesa knows them. Shared by the relay, the widget and the bot, so a
 * number is accepted or refused the same way everywhere. No dependencies: the widget bundles it.
 */

/** Safaricom M-Pesa numbers are 2547XXXXXXXX or 2541XXXXXXXX (12 digits). */
const CANONICAL = /^254[17]\d{8}$/;

export type PhoneResult =
  | { ok: true; msisdn: string }
  | { ok: false; reason: 'empty' | 'characters' | 'length' | 'prefix' };

/**
 * Accepts `07…`, `01…`, `7…`, `1…`, `+254…`, `254…`, `00254…` (spaces, dashes, dots, brackets
 * and invisible marks allowed, and the trunk 0 after the country code: `+254 (0)7…`) and returns the
 * canonical `2547XXXXXXXX` / `2541XXXXXXXX`, or why it cannot.
 */
export function normalizePhone(input: string): PhoneResult {
  // Without invisible format characters (direction marks, zero-width spaces): a number copied
  // from WhatsApp or a contact card carries them.
  const trimmed = input.replace(/\p{Cf}/gu, '').trim();
  if (trimmed === '') return { ok: false, reason: 'empty' };
  if (!/^\+?[\d\s\-.()]+$/.test(trimmed)) return { ok: false, reason: 'characters' };
  const hasPlus = trimmed.startsWith('+');
  // `00`: the international prefix dialled instead of `+`.
  let digits = trimmed.replace(/\D/g, '').replace(/^00(?=254)/, '');
  if (hasPlus && !digits.startsWith('254')) return { ok: false, reason: 'prefix' };
  if (digits.startsWith('254')) digits = digits.slice(3).replace(/^0(?=\d{9}$)/, '');
  else if (digits.startsWith('0')) digits = digits.slice(1);
  else if (digits.length > 10) return { ok: false, reason: 'prefix' };
  if (digits.length !== 9) return { ok: false, reason: 'length' };
  const msisdn = `254${digits}`;
  if (!CANONICAL.test(msisdn)) return { ok: false, reason: 'prefix' };
  return { ok: true, msisdn };
}

/** Plain-English explanation of a refused number, for API errors and logs. */
export const PHONE_REASONS: Record<Exclude<PhoneResult, { ok: true }>['reason'], string> = {
  empty: 'enter the M-Pesa phone number',
  characters: 'a phone number has only digits, spaces, dashes and a leading +',
  length: 'a Kenyan mobile number has 10 digits (07XX XXX XXX or 01XX XXX XXX)',
  prefix: 'use a Kenyan M-Pesa number starting 07 or 01 (or +254 7 / +254 1)',
};

/** `254712345412` → `2547•••••412`: enough for a customer to recognise, nothing more. */
export function maskPhone(msisdn: string): string {
  if (msisdn.length < 7) return '•'.repeat(msisdn.length);
  return `${msisdn.slice(0, 4)}${'•'.repeat(msisdn.length - 7)}${msisdn.slice(-3)}`;
}

/** The local `07XXXXXXXX` form some providers want (UpesiPay). */
export function toLocalPhone(msisdn: string): string {
  return `0${msisdn.slice(3)}`;
}
