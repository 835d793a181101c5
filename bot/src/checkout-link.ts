/**
 * Payment links for Telegram. A merchant's checkout token (`ct1.<base64url JSON claims>.<sig>`, see
 * server/src/checkout-token.ts) is ~140 characters, but a `/start` payload may carry only 64 of
 * `A-Z a-z 0-9 _ -`. The bot keeps nothing per link, so the link carries the token itself in a
 * compact form: the 43-character signature, then the expiry and amount in base 36, then the
 * reference. The bot rebuilds the exact claims JSON from those (plus the merchant id it is
 * configured with) and so the exact token; the relay verifies it as usual, and an edited link is
 * refused there. Tokens with a description, or a reference outside `A-Z a-z 0-9 _ -`, or too long
 * to fit, have no compact form: the customer pastes the full token after `/pay` instead.
 *
 * Layout: `<signature: 43><expiresAt base36>-<amount base36>-<reference>` (at most 64 characters,
 * which leaves 9 to 12 for the reference: 11 for amounts from KES 36 to 1,295, 9 at KES 150,000).
 */
import type { CheckoutClaims } from '@stk-pay/server/merchant';

export type { CheckoutClaims };

export const START_PAYLOAD_MAX = 64;
const SIGNATURE_LENGTH = 43;
const PREFIX = 'ct1';
const COMPACT = /^([A-Za-z0-9_-]{43})([0-9a-z]{1,12})-([0-9a-z]{1,12})-([A-Za-z0-9_-]+)$/;
const SAFE_REFERENCE = /^[A-Za-z0-9_-]+$/;

export function looksLikeToken(text: string): boolean {
  return text.startsWith(`${PREFIX}.`);
}

/** The claims of a token, read without checking its signature (only the relay can); undefined when malformed. */
export function readClaims(token: string): CheckoutClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || !parts[1] || parts[2]?.length !== SIGNATURE_LENGTH) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null) return undefined;
  const { merchant, amount, reference, description, expiresAt } = claims as Record<string, unknown>;
  if (typeof merchant !== 'string' || typeof reference !== 'string' || !Number.isSafeInteger(amount) || !Number.isSafeInteger(expiresAt)) {
    return undefined;
  }
  if (description !== undefined && typeof description !== 'string') return undefined;
  return { merchant, amount: amount as number, reference, ...(description ? { description } : {}), expiresAt: expiresAt as number };
}

/** The token the merchant's backend signed for these claims (same JSON, byte for byte). */
function tokenFor(claims: CheckoutClaims, signature: string): string {
  const ordered = {
    merchant: claims.merchant,
    amount: claims.amount,
    reference: claims.reference,
    ...(claims.description ? { description: claims.description } : {}),
    expiresAt: claims.expiresAt,
  };
  return `${PREFIX}.${Buffer.from(JSON.stringify(ordered)).toString('base64url')}.${signature}`;
}

export type LinkResult = { ok: true; value: string } | { ok: false; reason: string };

/** The `/start` payload for a token, or why it has none. */
export function toStartPayload(token: string): LinkResult {
  const claims = readClaims(token);
  if (!claims) return { ok: false, reason: 'not a checkout token (ct1.…)' };
  if (claims.description) return { ok: false, reason: 'a token with a description does not fit in a Telegram link; sign it without one' };
  if (!SAFE_REFERENCE.test(claims.reference)) {
    return { ok: false, reason: 'the reference may use only letters, digits, - and _ in a Telegram link' };
  }
  const signature = token.slice(-SIGNATURE_LENGTH);
  // A token signed by other code than createCheckoutToken may serialise its claims differently.
  if (tokenFor(claims, signature) !== token) return { ok: false, reason: 'the token was not made by createCheckoutToken' };
  const payload = `${signature}${claims.expiresAt.toString(36)}-${claims.amount.toString(36)}-${claims.reference}`;
  if (payload.length > START_PAYLOAD_MAX) {
    const spare = START_PAYLOAD_MAX - (payload.length - claims.reference.length);
    return { ok: false, reason: `the reference is too long for a Telegram link (at most ${Math.max(0, spare)} characters with this amount)` };
  }
  return { ok: true, value: payload };
}

/** The full token a `/start` payload stands for, for the merchant this bot serves. */
export function fromStartPayload(payload: string, merchantId: string): string | undefined {
  const match = COMPACT.exec(payload);
  if (!match) return undefined;
  const [, signature, expiry, amount, reference] = match as unknown as [string, string, string, string, string];
  const claims: CheckoutClaims = {
    merchant: merchantId,
    amount: Number.parseInt(amount, 36),
    reference,
    expiresAt: Number.parseInt(expiry, 36),
  };
  if (!Number.isSafeInteger(claims.amount) || !Number.isSafeInteger(claims.expiresAt)) return undefined;
  return tokenFor(claims, signature);
}

/** `https://t.me/<bot>?start=<payload>`, or why the token has no Telegram link. */
export function telegramLink(botUsername: string, token: string): LinkResult {
  const compact = toStartPayload(token);
  if (!compact.ok) return compact;
  return { ok: true, value: `https://t.me/${botUsername.replace(/^@/, '')}?start=${compact.value}` };
}
