/**
 * Merchant webhook signatures: `Stk-Pay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">`, keyed by the merchant's secret key (one `v1=` for each of its keys).
 * `verifyWebhook` is what a merchant's server calls; it is exported from the package for Node
 * merchants.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'stk-pay-signature';
export const EVENT_ID_HEADER = 'stk-pay-event-id';

/**
 * The signature header for `rawBody`: one `v1=` per secret key, so while a merchant rotates keys
 * (the new one added beside the old), a server that verifies with either accepts it.
 */
export function signWebhook(rawBody: string, secretKey: string | readonly string[], timestampSeconds: number): string {
  const keys = typeof secretKey === 'string' ? [secretKey] : secretKey;
  const macs = keys.map((key) => `v1=${createHmac('sha256', key).update(`${timestampSeconds}.${rawBody}`).digest('hex')}`);
  return `t=${timestampSeconds},${macs.join(',')}`;
}

export interface WebhookEvent {
  /** `evt_…`: the same on every retry of one event; dedupe on it. */
  id: string;
  type: 'payment.succeeded' | 'payment.failed';
  createdAt: string;
  /** The payment as the merchant API returns it (full phone number). */
  data: Record<string, unknown> & { id: string; status: string; amount: number };
}

export type WebhookVerdict = { ok: true; event: WebhookEvent } | { ok: false; reason: string };

/**
 * Checks a webhook: the signature over the raw body (as received, before any JSON parsing) with
 * any of the merchant's secret keys, and a timestamp within `toleranceSeconds` (default 5
 * minutes) so a captured request cannot be replayed later.
 */
export function verifyWebhook(
  rawBody: string | Buffer,
  signatureHeader: string | undefined,
  secretKey: string | string[] | undefined,
  options: { toleranceSeconds?: number; now?: Date } = {},
): WebhookVerdict {
  // An unset or empty setting must not verify: an empty HMAC key is one anyone can sign with.
  const keys = (Array.isArray(secretKey) ? secretKey : [secretKey]).filter((key): key is string => typeof key === 'string' && key.length > 0);
  if (keys.length === 0) return { ok: false, reason: 'no secret key to verify with: the secret key setting is empty or unset' };
  if (!signatureHeader) return { ok: false, reason: 'no Stk-Pay-Signature header' };
  const parts = new Map<string, string[]>();
  for (const piece of signatureHeader.split(',')) {
    const [key, value] = piece.trim().split('=', 2);
    if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  const signatures = parts.get('v1') ?? [];
  if (!Number.isSafeInteger(timestamp) || signatures.length === 0) return { ok: false, reason: 'malformed Stk-Pay-Signature header' };
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: 'timestamp outside the tolerance (replayed or clock skew)' };
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const matches = keys.some((key) => {
    const expected = Buffer.from(createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex'));
    return signatures.some((given) => {
      const candidate = Buffer.from(given);
      return candidate.length === expected.length && timingSafeEqual(candidate, expected);
    });
  });
  if (!matches) return { ok: false, reason: 'signature does not match' };
  try {
    return { ok: true, event: JSON.parse(body) as WebhookEvent };
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
}
