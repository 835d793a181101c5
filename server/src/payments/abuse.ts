/**
 * Keeps a merchant below the aggregators' abuse blocks (UpesiPay: 10 successive failed prompts to
 * one phone blocks it for 24 h; 50 failed requests in 6 h restrict the account) and away from
 * M-Pesa's own refusals (result 17: the same amount to the same phone within 2 minutes; 1001:
 * another prompt already open on that phone). Each refusal is a 429 with Retry-After and words a
 * customer understands; nothing is stored and no prompt is sent.
 */
import { RelayError } from '../errors.js';
import type { PaymentRecord } from '../store/types.js';

export interface AbuseLimits {
  /** A prompt counts as open for this long after it was sent (the ~60 s prompt window, with margin). */
  openPromptMs: number;
  /** Same phone and amount refused for this long (M-Pesa result 17). */
  duplicateWindowMs: number;
  /** Successive customer failures on one phone → how long that phone waits after the last one. */
  phoneCooldowns: { failures: number; waitMs: number }[];
  /** Failed payments per merchant allowed in `failureWindowMs` (UpesiPay restricts at 50 in 6 h). */
  failureBudget: number;
  failureWindowMs: number;
}

const MINUTE = 60_000;

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  openPromptMs: 3 * MINUTE,
  duplicateWindowMs: 2 * MINUTE,
  // Well before the 10 that block a phone for a day.
  phoneCooldowns: [
    { failures: 3, waitMs: 5 * MINUTE },
    { failures: 5, waitMs: 60 * MINUTE },
    { failures: 7, waitMs: 24 * 60 * MINUTE },
  ],
  failureBudget: 40,
  failureWindowMs: 6 * 60 * MINUTE,
};

/**
 * Which of a phone's payments the rules read: the last day's, newest first, at most 20 (more than
 * the longest run of failures a cooldown counts, and the day covers the longest cooldown).
 */
export const RECENT_FOR_PHONE = { windowMs: 24 * 60 * MINUTE, limit: 20 };

/** What the phone owner did: these count toward a phone's cooldown (a provider outage does not). */
const CUSTOMER_FAILURES = new Set(['cancelled', 'insufficient_funds', 'wrong_pin', 'timeout', 'unreachable']);

function refuse(code: string, message: string, retryAfterMs: number): RelayError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new RelayError('RELAY_ERR_RATE_LIMITED', { code, message, headers: { 'retry-after': String(seconds) }, details: [{ field: 'phone', message }] });
}

const wait = (ms: number) => (ms >= 90 * MINUTE ? `${Math.round(ms / (60 * MINUTE))} hours` : ms >= 90_000 ? `${Math.ceil(ms / MINUTE)} minutes` : `${Math.ceil(ms / 1000)} seconds`);

/**
 * Throws the 429 for the first rule this payment would break. `recent` are the merchant's payments
 * to this phone, newest first; `failures` the times of the merchant's failed payments in the window.
 */
export function checkAbuse(
  input: { amount: number; now: number },
  recent: PaymentRecord[],
  failures: number[],
  limits: AbuseLimits,
): void {
  const { amount, now } = input;
  const sent = recent.filter((payment) => payment.pushState !== 'refused');

  const open = sent.find((p) => (p.status === 'pending' || p.status === 'awaiting_customer') && now - p.createdAt < limits.openPromptMs);
  if (open) {
    const retry = open.createdAt + limits.openPromptMs - now;
    throw refuse('phone_busy', `A payment prompt is already open on this phone. Answer it, or wait ${wait(retry)} and try again.`, retry);
  }

  const same = sent.find((p) => p.amount === amount && now - p.createdAt < limits.duplicateWindowMs);
  if (same) {
    const retry = same.createdAt + limits.duplicateWindowMs - now;
    throw refuse('duplicate_payment', `The same amount was just requested from this phone. M-Pesa refuses a repeat within 2 minutes: wait ${wait(retry)}.`, retry);
  }

  let successive = 0;
  for (const payment of sent) {
    if (payment.status !== 'failed' || !CUSTOMER_FAILURES.has(payment.failureCode ?? '')) break;
    successive += 1;
  }
  const cooldown = [...limits.phoneCooldowns].reverse().find((rule) => successive >= rule.failures);
  if (cooldown && sent[0]) {
    const retry = sent[0].updatedAt + cooldown.waitMs - now;
    if (retry > 0) {
      throw refuse('phone_cooldown', `Several payments to this phone did not go through. To protect it from being blocked by M-Pesa, wait ${wait(retry)} before trying again.`, retry);
    }
  }

  if (failures.length >= limits.failureBudget) {
    const oldestCounted = [...failures].sort((a, b) => b - a)[limits.failureBudget - 1]!;
    const retry = oldestCounted + limits.failureWindowMs - now;
    throw refuse('merchant_paused', `This shop is taking a short pause from M-Pesa prompts after many failed payments. Please try again in ${wait(retry)}.`, retry);
  }
}
