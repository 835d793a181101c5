/**
 * The payment store, written once over Kysely: the same queries run on SQLite (better-sqlite3,
 * the embedded default) and PostgreSQL. Every status change is written together with its event
 * row in one transaction, so nothing is announced that is not committed.
 */
import { Kysely } from 'kysely';
import type { CallbackRecord, CreateResult, NewPayment, PaymentEventRecord, PaymentListQuery, PaymentPatch, PaymentRecord, PaymentStore, UpdateResult, WebhookDelivery } from './types.js';
interface PaymentsTable {
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
    created_at: number;
    updated_at: number;
}
interface PaymentEventsTable {
    payment_id: string;
    seq: number;
    status: string;
    source: string;
    view: string;
    at: number;
}
interface CallbacksTable {
    provider: string;
    provider_ref: string | null;
    payment_id: string | null;
    verdict: string;
    body: string;
    received_at: number;
}
interface SettingsTable {
    key: string;
    value: string;
}
interface WebhookOutboxTable {
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
/** One event per terminal payment: `evt_<payment id without pay_>_<seq>`. */
export declare function webhookEventId(payment: PaymentRecord): string;
export declare class KyselyPaymentStore implements PaymentStore {
    private readonly db;
    /** PostgreSQL can lock the row it reads; SQLite serialises writers anyway. */
    private readonly rowLocks;
    constructor(db: Kysely<Database>, 
    /** PostgreSQL can lock the row it reads; SQLite serialises writers anyway. */
    rowLocks: boolean);
    init(): Promise<void>;
    createPayment(payment: NewPayment, now: number, toView: (p: PaymentRecord) => unknown): Promise<CreateResult>;
    getPayment(id: string): Promise<PaymentRecord | undefined>;
    recentForPhone(merchantId: string, phone: string, since: number, limit: number): Promise<PaymentRecord[]>;
    failureTimes(merchantId: string, since: number): Promise<number[]>;
    findByIdempotencyKey(merchantId: string, key: string): Promise<PaymentRecord | undefined>;
    listPayments(query: PaymentListQuery): Promise<PaymentRecord[]>;
    findByProviderRef(provider: string, providerRef: string): Promise<PaymentRecord | undefined>;
    findUnreferenced(provider: string, phone: string, amount: number, since: number): Promise<PaymentRecord[]>;
    updatePayment(id: string, patch: PaymentPatch, source: string, now: number, toView: (p: PaymentRecord) => unknown): Promise<UpdateResult>;
    eventsAfter(paymentId: string, afterSeq: number): Promise<PaymentEventRecord[]>;
    latestEvent(paymentId: string): Promise<PaymentEventRecord | undefined>;
    claimPush(id: string, now: number, nextCheckAt: number): Promise<boolean>;
    claimDueChecks(now: number, leaseUntil: number, limit: number): Promise<PaymentRecord[]>;
    claimDueWebhooks(now: number, leaseUntil: number, limit: number): Promise<WebhookDelivery[]>;
    markWebhookDelivered(eventId: string, now: number): Promise<boolean>;
    recordWebhookFailure(eventId: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void>;
    webhookDeliveries(paymentId: string): Promise<WebhookDelivery[]>;
    recordCallback(callback: CallbackRecord): Promise<void>;
    callbacksFor(paymentId: string): Promise<CallbackRecord[]>;
    getOrSetSetting(key: string, value: string): Promise<string>;
    ping(): Promise<void>;
    close(): Promise<void>;
    private insertEvent;
}
export {};
