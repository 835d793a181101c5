/**
 * Checkout tokens: the merchant's backend signs what the customer may pay (amount, reference,
 * description, expiry) with its secret key, so an amount edited in the browser is refused.
 * Format: `ct1.<base64url JSON claims>.<base64url HMAC-SHA256 of "ct1.<claims>">`.
 */
import { createHmac } from 'node:crypto';
import { isPlainText } from './api/schemas.js';
import { sameSecret } from './merchants.js';

export interface CheckoutClaims {
  /** The merchant id the token is for. */
  merchant: string;
  amount: number;
  reference: string;
  description?: string;
  /** Unix seconds. */
  expiresAt: number;
}

export interface CreateCheckoutTokenInput {
  merchant: string;
  amount: number;
  reference: string;
  description?: string;
  /** Default one hour. */
  expiresInSeconds?: number;
  /** Default now. */
  now?: Date;
}

const PREFIX = 'ct1';

function sign(payload: string, secretKey: string): string {
  return createHmac('sha256', secretKey).update(`${PREFIX}.${payload}`).digest('base64url');
}

/** Signs a checkout token with the merchant's secret key (`sk_…`). For the merchant's backend. */
export function createCheckoutToken(input: CreateCheckoutTokenInput, secretKey: string): string {
  if (!Number.isSafeInteger(input.amount) || input.amount < 1) throw new TypeError('amount must be a whole number of shillings, at least 1');
  if (!input.reference) throw new TypeError('reference is required');
  if (!isPlainText(input.reference) || (input.description !== undefined && !isPlainText(input.description))) {
    throw new TypeError('reference and description must be plain text, without control characters');
  }
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const claims: CheckoutClaims = {
    merchant: input.merchant,
    amount: input.amount,
    reference: input.reference,
    ...(input.description ? { description: input.description } : {}),
    expiresAt: now + (input.expiresInSeconds ?? 3600),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${PREFIX}.${payload}.${sign(payload, secretKey)}`;
}

export type TokenVerdict =
  | { ok: true; claims: CheckoutClaims }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'other_merchant' | 'not_plain_text' };

/** Checks a token against a merchant's secret keys (any of them, so keys can be rotated). */
export function verifyCheckoutToken(token: string, merchantId: string, secretKeys: string[], nowMs = Date.now()): TokenVerdict {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
  const [, payload, signature] = parts as [string, string, string];
  let claims: CheckoutClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as CheckoutClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims !== 'object' || claims === null || typeof claims.amount !== 'number' || typeof claims.reference !== 'string' || typeof claims.expiresAt !== 'number') {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.merchant !== merchantId) return { ok: false, reason: 'other_merchant' };
  if (!secretKeys.some((key) => sameSecret(signature, sign(payload, key)))) return { ok: false, reason: 'bad_signature' };
  // Signed, but holding what no payment's text may (PostgreSQL refuses NUL): refused, not stored.
  if (!isPlainText(claims.reference) || (claims.description !== undefined && (typeof claims.description !== 'string' || !isPlainText(claims.description)))) {
    return { ok: false, reason: 'not_plain_text' };
  }
  if (claims.expiresAt * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

export const TOKEN_REASONS: Record<Exclude<TokenVerdict, { ok: true }>['reason'], string> = {
  malformed: 'is not a checkout token',
  bad_signature: 'is not signed by this merchant (forged or altered)',
  expired: 'has expired; ask the shop for a new payment link',
  other_merchant: 'was issued for another merchant',
  not_plain_text: 'holds a reference or description that is not plain text',
};
