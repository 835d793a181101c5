/**
 * The storage seam. The relay talks only to this interface; `kysely-store.ts` implements it for
 * SQLite (embedded default) and, through the same queries, for PostgreSQL.
 */
import type { FailureCode, PaymentStatus } from '../api/schemas.js';

/** Where the push request to the provider stands, so a crash never sends a prompt twice. */
export type PushState =
  /** Stored, not yet handed to the provider. Safe to send. */
  | 'queued'
  /** The request left (or may have left): never send again; resolve by callback or query. */
  | 'sent'
  /** The provider refused it outright: no prompt went out. */
  | 'refused';

export interface PaymentRecord {
  id: string;
  merchantId: string;
  status: PaymentStatus;
  amount: number;
  reference: string | null;
  description: string | null;
  /** Canonical 2547XXXXXXXX; never leaves the relay except to the provider and the merchant API. */
  phone: string;
  provider: string;
  providerRef: string | null;
  pushState: PushState;
  failureCode: FailureCode | null;
  failureMessage: string | null;
  receipt: string | null;
  seq: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  nextCheckAt: number | null;
  checkAttempts: number;
  /** Why the relay stopped short of settling it and the merchant must look (never shown to customers). */
  reviewReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PaymentEventRecord {
  paymentId: string;
  seq: number;
  status: PaymentStatus;
  /** What caused it: `created`, `push`, `callback`, `query`. */
  source: string;
  /** The public view of the payment at that moment (JSON). */
  view: string;
  at: number;
}

export type NewPayment = Pick<
  PaymentRecord,
  'id' | 'merchantId' | 'amount' | 'reference' | 'description' | 'phone' | 'provider' | 'idempotencyKey' | 'requestHash' | 'nextCheckAt'
>;

/** What a change sets; `status` goes through the state machine inside the store's transaction. */
export interface PaymentPatch {
  status?: PaymentStatus;
  providerRef?: string;
  pushState?: PushState;
  failureCode?: FailureCode | null;
  failureMessage?: string | null;
  receipt?: string | null;
  nextCheckAt?: number | null;
  checkAttempts?: number;
  reviewReason?: string | null;
}

export interface CallbackRecord {
  provider: string;
  providerRef: string | null;
  paymentId: string | null;
  /** What the relay made of it: `applied`, `duplicate`, `ignored: …`, `unknown_payment`, `rejected: …`. */
  verdict: string;
  body: string;
  receivedAt: number;
}

/**
 * A callback to record in the same transaction as the change it brought: its verdict is
 * `applied` when a status change was committed, `otherwise` when not.
 */
export interface CallbackToRecord extends Omit<CallbackRecord, 'verdict'> {
  otherwise: string;
}

/** What else `updatePayment` writes in its transaction. */
export interface UpdateOptions {
  /** Queue the merchant's webhook on a terminal change (default true); false when the merchant has no webhook URL. */
  webhook?: boolean;
  /** Record the callback that brought this change, with the verdict the change decides. */
  callback?: CallbackToRecord;
}

export type CreateResult =
  | { kind: 'created'; payment: PaymentRecord }
  /** The same Idempotency-Key was seen before for this merchant. */
  | { kind: 'existing'; payment: PaymentRecord };

export type UpdateResult =
  /** `previousStatus`: the status before, as read inside the transaction (for the log's from → to). */
  | { kind: 'updated'; payment: PaymentRecord; event: PaymentEventRecord | null; previousStatus: PaymentStatus }
  | { kind: 'unchanged'; payment: PaymentRecord; reason: string }
  /** Nothing changed: the patch gives a receipt that `holder`, another payment of the provider, has. */
  | { kind: 'receipt_held'; payment: PaymentRecord; holder: string }
  | { kind: 'missing' };

/** A merchant webhook for one terminal payment event, in the durable outbox. */
export interface WebhookDelivery {
  eventId: string;
  merchantId: string;
  paymentId: string;
  attempts: number;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  lastError: string | null;
  createdAt: number;
}

export interface PaymentListQuery {
  merchantId: string;
  reference?: string;
  status?: PaymentStatus;
  limit: number;
  /** Continue after this payment (newest first): its createdAt and id. */
  after?: { createdAt: number; id: string };
}

/** What `/metrics` reports about the store, counted when it is scraped. */
export interface StoreCounts {
  /** Every payment stored, by provider and status. */
  payments: { provider: string; status: PaymentStatus; count: number }[];
  /** Open payments with a status check scheduled (the reconciler's backlog), and those overdue. */
  checks: { waiting: number; overdue: number };
  /** Merchant webhooks still to be attempted (not delivered, not given up), and those overdue. */
  webhooks: { waiting: number; overdue: number };
}

export interface PaymentStore {
  /** Creates the schema if needed. */
  init(): Promise<void>;
  /** Inserts a payment and its first event, or returns the one stored under the same idempotency key. */
  createPayment(payment: NewPayment, now: number): Promise<CreateResult>;
  getPayment(id: string): Promise<PaymentRecord | undefined>;
  /** A merchant's payments to one phone since `since`, newest first (at most `limit`). */
  recentForPhone(merchantId: string, phone: string, since: number, limit: number): Promise<PaymentRecord[]>;
  /** When each of a merchant's payments that failed since `since` failed. */
  failureTimes(merchantId: string, since: number): Promise<number[]>;
  /** A payment by the merchant's idempotency key. */
  findByIdempotencyKey(merchantId: string, key: string): Promise<PaymentRecord | undefined>;
  /** A merchant's payments, newest first, filtered, one page. */
  listPayments(query: PaymentListQuery): Promise<PaymentRecord[]>;
  findByProviderRef(provider: string, providerRef: string): Promise<PaymentRecord | undefined>;
  /** Non-terminal payments of `provider` whose push left without an answer (no reference), newest first. */
  findUnreferenced(provider: string, phone: string, amount: number, since: number): Promise<PaymentRecord[]>;
  /**
   * Applies `patch` atomically. A status change is checked against the state machine; an allowed
   * one bumps `seq` and writes an event (committed before anyone is told); a terminal one also
   * puts the merchant's webhook in the outbox, in the same transaction (see `UpdateOptions`), which
   * also records the callback that brought the change, when given: one commit for both.
   */
  updatePayment(id: string, patch: PaymentPatch, source: string, now: number, options?: UpdateOptions): Promise<UpdateResult>;
  /** Events with seq > afterSeq, oldest first. */
  eventsAfter(paymentId: string, afterSeq: number): Promise<PaymentEventRecord[]>;
  latestEvent(paymentId: string): Promise<PaymentEventRecord | undefined>;
  /**
   * Marks a queued payment's push as sent (due for a status check at `nextCheckAt`), if it is
   * still queued. Exactly one caller wins: only the winner may send the prompt.
   */
  claimPush(id: string, now: number, nextCheckAt: number): Promise<boolean>;
  /** Non-terminal payments whose next status check is due, claimed (their next check moved to `leaseUntil`) so one relay instance handles each. */
  claimDueChecks(now: number, leaseUntil: number, limit: number): Promise<PaymentRecord[]>;
  /**
   * Webhooks due for an attempt, claimed until `leaseUntil` so one instance sends each: none of
   * the merchants in `skipMerchants` (those with enough in flight), and at most `roomOf(merchant)`
   * of any other's.
   */
  claimDueWebhooks(now: number, leaseUntil: number, limit: number, skipMerchants?: readonly string[], roomOf?: (merchantId: string) => number): Promise<WebhookDelivery[]>;
  /** Marks a webhook delivered; false if it already was (another attempt won). */
  markWebhookDelivered(eventId: string, now: number): Promise<boolean>;
  /** Records a failed attempt; `nextAttemptAt` null gives up. */
  recordWebhookFailure(eventId: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void>;
  webhookDeliveries(paymentId: string): Promise<WebhookDelivery[]>;
  recordCallback(callback: CallbackRecord): Promise<void>;
  callbacksFor(paymentId: string): Promise<CallbackRecord[]>;
  /**
   * The figures of `/metrics`, each from one indexed query: payments by provider and status, and
   * the due work (status checks, webhooks) with how much of it was due before `overdueBefore`.
   */
  countsForMetrics(overdueBefore: number): Promise<StoreCounts>;
  /** Returns the stored value, storing `value` first if there was none (first writer wins). */
  getOrSetSetting(key: string, value: string): Promise<string>;
  /**
   * Runs `work` while holding a lock named `key` that every relay instance on this store respects
   * (PostgreSQL: an advisory lock; SQLite, one instance: in-process), one holder at a time.
   */
  withLock<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Resolves when the database answers and takes a write (a small one, durable as any other). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
