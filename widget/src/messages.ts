/**
 * The words for each state, from the strings table: what the live region says, and why a Pay was
 * refused. Pure functions, so the component only decides when to say them.
 */
import type { TemplateResult } from 'lit/html.js';
import type { PaymentView } from '@stk-pay/server/schemas';
import type { CreateOutcome } from './relay-client.js';
import type { Strings } from './strings.js';

export type Phase = 'ready' | 'sending' | 'waiting' | 'confirming' | 'succeeded' | 'failed';
export type Refusal = Extract<CreateOutcome, { ok: false }>;

export interface Shown {
  phase: Phase;
  payment: PaymentView | undefined;
  refusal: Refusal | undefined;
  /** The amount, formatted. */
  money: string;
}

/** A headline (focused when the state changes), then details; '' lines are left out. */
export function statusLines(t: Strings, { phase, payment, refusal, money }: Shown): (string | TemplateResult)[] {
  if (phase === 'waiting') {
    return [t.checkPhone, payment === undefined ? '' : payment.status === 'pending' ? t.statusPending(payment.phone) : t.statusAwaiting(payment.phone)];
  }
  if (phase === 'confirming') return [t.confirming, t.confirmingDetail];
  if (phase === 'succeeded') return [t.paid, money, payment?.receipt ? t.receipt(payment.receipt) : ''];
  // A code this widget does not know yet (a newer relay) reads as the provider's fault.
  if (phase === 'failed') return [t.notPaid, t.failure[payment?.failure?.code!] ?? t.failure.provider_error];
  return refusal ? [explainRefusal(t, refusal)] : [];
}

export function explainRefusal(t: Strings, { status, error }: Refusal): string | TemplateResult {
  if (status === undefined || status >= 500) return t.unreachable;
  if (status === 401 || status === 403) return t.misconfigured;
  if (status === 429) return t.rateLimited(error.message);
  // The relay's own words (English) for what it refused: the amount range, a bad token.
  return t.refused(error.details?.map((detail) => detail.message).join('; ') || error.message);
}

/** `m:ss` of the time left, as a countdown shows it. */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
