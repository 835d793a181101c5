/**
 * The tables as Kysely sees them, and the conversions between their rows and the store's records
 * (numbers come back as strings from PostgreSQL's bigint, hence the Number() calls).
 */
import type { FailureCode, PaymentStatus } from '../api/schemas.js';
import type { PaymentEventRecord, PaymentRecord, PushState, WebhookDelivery } from './types.js';

export interface PaymentsTable {
  id: string;
  merchant_id: string;
  status: string;
  amount: number;
  reference: string | null;
  description: string | null;
  phone: string;
  provider: string;
  provider_ref: string | null;
  push_state: string;
  failure_code: string | null;
  failure_message: string | null;
  receipt: string | null;
  seq: number;
  idempotency_key: string | null;
  request_hash: string | null;
  next_check_at: number | null;
  check_attempts: number;
  review_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface PaymentEventsTable {
  payment_id: string;
  seq: number;
  status: string;
  source: string;
  view: string;
  at: number;
}

export interface CallbacksTable {
  provider: string;
  provider_ref: string | null;
  payment_id: string | null;
  verdict: string;
  body: string;
  received_at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface WebhookOutboxTable {
  event_id: string;
  merchant_id: string;
  payment_id: string;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
  created_at: number;
}

export interface Database {
  webhook_outbox: WebhookOutboxTable;
  payments: PaymentsTable;
  payment_events: PaymentEventsTable;
  provider_callbacks: CallbacksTable;
  settings: SettingsTable;
}

export type PaymentRow = PaymentsTable;

export function toRecord(row: PaymentRow): PaymentRecord {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    status: row.status as PaymentStatus,
    amount: Number(row.amount),
    reference: row.reference,
    description: row.description,
    phone: row.phone,
    provider: row.provider,
    providerRef: row.provider_ref,
    pushState: row.push_state as PushState,
    failureCode: row.failure_code as FailureCode | null,
    failureMessage: row.failure_message,
    receipt: row.receipt,
    seq: Number(row.seq),
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    nextCheckAt: row.next_check_at === null ? null : Number(row.next_check_at),
    checkAttempts: Number(row.check_attempts),
    reviewReason: row.review_reason,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toEvent(row: PaymentEventsTable): PaymentEventRecord {
  return { paymentId: row.payment_id, seq: Number(row.seq), status: row.status as PaymentStatus, source: row.source, view: row.view, at: Number(row.at) };
}

export const NON_TERMINAL: PaymentStatus[] = ['pending', 'awaiting_customer'];
export const TERMINAL: PaymentStatus[] = ['succeeded', 'failed'];

/** One event per terminal payment: `evt_<payment id without pay_>_<seq>`. */
export function webhookEventId(payment: PaymentRecord): string {
  return `evt_${payment.id.slice(4)}_${payment.seq}`;
}

export function toDelivery(row: WebhookOutboxTable): WebhookDelivery {
  return {
    eventId: row.event_id,
    merchantId: row.merchant_id,
    paymentId: row.payment_id,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
  };
}

