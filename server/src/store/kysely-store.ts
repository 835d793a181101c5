/**
 * The payment store, written once over Kysely: the same queries run on SQLite (better-sqlite3,
 * the embedded default) and PostgreSQL. Every status change is written together with its event
 * row in one transaction, so nothing is announced that is not committed.
 */
import { Kysely, sql, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { PaymentStatus } from '../api/schemas.js';
import { KeyedLock, Semaphore } from '../payments/keyed-lock.js';
import { isTerminal, transition } from '../payments/state-machine.js';
import { toView } from '../payments/view.js';
import { migrations } from './migrations.js';
import { Precompiled, rowOfSlots } from './precompiled.js';
import {
  NON_TERMINAL,
  TERMINAL,
  toDelivery,
  toEvent,
  toRecord,
  webhookEventId,
  type CallbacksTable,
  type Database,
  type PaymentEventsTable,
  type PaymentRow,
  type PaymentsTable,
  type WebhookOutboxTable,
} from './rows.js';
import type {
  CallbackRecord,
  CreateResult,
  NewPayment,
  PaymentEventRecord,
  PaymentListQuery,
  PaymentPatch,
  PaymentRecord,
  PaymentStore,
  StoreCounts,
  UpdateOptions,
  UpdateResult,
  WebhookDelivery,
} from './types.js';

export type { Database } from './rows.js';
export { webhookEventId } from './rows.js';

export class KyselyPaymentStore implements PaymentStore {
  private readonly localLocks = new KeyedLock();
  private readonly lockHolders: Semaphore;
  /**
   * The queries of creating a payment, of a callback, of applying a change and of an event
   * stream, compiled once (precompiled.ts).
   */
  private readonly queries = {
    byId: new Precompiled((p: { id: string }) => this.db.selectFrom('payments').selectAll().where('id', '=', p.id)),
    byIdToUpdate: new Precompiled((p: { id: string }) => {
      const query = this.db.selectFrom('payments').selectAll().where('id', '=', p.id);
      return this.rowLocks ? query.forUpdate() : query;
    }),
    receiptHolder: new Precompiled((p: { provider: string; receipt: string; id: string }) =>
      this.db.selectFrom('payments').select('id').where('provider', '=', p.provider).where('receipt', '=', p.receipt).where('id', '!=', p.id).limit(literalLimit(1)),
    ),
    byIdempotencyKey: new Precompiled((p: { merchantId: string; key: string }) =>
      this.db.selectFrom('payments').selectAll().where('merchant_id', '=', p.merchantId).where('idempotency_key', '=', p.key),
    ),
    byProviderRef: new Precompiled((p: { provider: string; providerRef: string }) =>
      this.db.selectFrom('payments').selectAll().where('provider', '=', p.provider).where('provider_ref', '=', p.providerRef),
    ),
    eventsAfter: new Precompiled((p: { paymentId: string; afterSeq: number }) =>
      this.db.selectFrom('payment_events').selectAll().where('payment_id', '=', p.paymentId).where('seq', '>', p.afterSeq).orderBy('seq'),
    ),
    latestEvent: new Precompiled((p: { paymentId: string }) =>
      this.db.selectFrom('payment_events').selectAll().where('payment_id', '=', p.paymentId).orderBy('seq', 'desc').limit(literalLimit(1)),
    ),
    failureTimes: new Precompiled((p: { merchantId: string; since: number }) =>
      // Only pushes that left: one the provider refused, or never received, sent no prompt and
      // cannot count toward its abuse limits (see abuse.ts).
      this.db
        .selectFrom('payments')
        .select('updated_at')
        .where('merchant_id', '=', p.merchantId)
        .where('status', '=', 'failed')
        .where('push_state', '=', 'sent')
        .where('updated_at', '>=', p.since),
    ),
    insertPayment: new Precompiled((p: PaymentRow) =>
      this.db
        .insertInto('payments')
        .values(rowOfSlots(PAYMENT_COLUMNS, p))
        .onConflict((oc) => oc.doNothing()),
    ),
    insertEvent: new Precompiled((p: PaymentEventsTable) => this.db.insertInto('payment_events').values(rowOfSlots(EVENT_COLUMNS, p))),
    claimPush: new Precompiled((p: { id: string; now: number; nextCheckAt: number }) =>
      this.db.updateTable('payments').set({ push_state: 'sent', next_check_at: p.nextCheckAt, updated_at: p.now }).where('id', '=', p.id).where('push_state', '=', 'queued'),
    ),
    updatePayment: new Precompiled((p: Omit<PaymentsTable, 'merchant_id' | 'amount' | 'reference' | 'description' | 'phone' | 'provider' | 'idempotency_key' | 'request_hash' | 'created_at'>) =>
      this.db
        .updateTable('payments')
        .set({
          status: p.status,
          provider_ref: p.provider_ref,
          push_state: p.push_state,
          failure_code: p.failure_code,
          failure_message: p.failure_message,
          receipt: p.receipt,
          seq: p.seq,
          next_check_at: p.next_check_at,
          check_attempts: p.check_attempts,
          review_reason: p.review_reason,
          updated_at: p.updated_at,
        })
        .where('id', '=', p.id),
    ),
    queueWebhook: new Precompiled((p: WebhookOutboxTable) =>
      this.db
        .insertInto('webhook_outbox')
        .values(rowOfSlots(OUTBOX_COLUMNS, p))
        .onConflict((oc) => oc.doNothing()),
    ),
    insertCallback: new Precompiled((p: CallbacksTable) => this.db.insertInto('provider_callbacks').values(rowOfSlots(CALLBACK_COLUMNS, p))),
  };
  /** By row limit (it is written into the SQL). */
  private readonly recentForPhoneQueries = new Map<number, Precompiled<{ merchantId: string; phone: string; since: number }, PaymentRow>>();

  constructor(
    private readonly db: Kysely<Database>,
    /** PostgreSQL can lock the row it reads; SQLite serialises writers anyway. */
    private readonly rowLocks: boolean,
    /**
     * How many `withLock` calls may hold a pooled connection for their advisory lock at once.
     * Below the pool's size, so the work done under the locks always finds a free connection;
     * at the pool's size, ten payments to ten phones at once took every connection and waited
     * for an eleventh forever.
     */
    maxLockHolders = 5,
  ) {
    this.lockHolders = new Semaphore(maxLockHolders);
  }

  async init(): Promise<void> {
    // Kysely's migrator takes a lock (an advisory lock on PostgreSQL), so instances starting
    // together apply each migration once.
    // On PostgreSQL, Kysely looks for its migration tables in every schema unless told which one:
    // another relay's tables elsewhere on the server (another search_path) would count as ours.
    const schema = this.rowLocks ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db)).rows[0]?.schema : undefined;
    const migrator = new Migrator({
      db: this.db,
      provider: { getMigrations: async () => migrations(this.rowLocks ? 'bigint' : 'integer') },
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((result) => result.status === 'Error');
    if (error || failed) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  async createPayment(payment: NewPayment, now: number): Promise<CreateResult> {
    return this.db.transaction().execute(async (trx) => {
      const row: PaymentRow = {
        id: payment.id,
        merchant_id: payment.merchantId,
        status: 'pending',
        amount: payment.amount,
        reference: payment.reference,
        description: payment.description,
        phone: payment.phone,
        provider: payment.provider,
        provider_ref: null,
        push_state: 'queued',
        failure_code: null,
        failure_message: null,
        receipt: null,
        seq: 1,
        idempotency_key: payment.idempotencyKey,
        request_hash: payment.requestHash,
        next_check_at: payment.nextCheckAt,
        check_attempts: 0,
        review_reason: null,
        created_at: now,
        updated_at: now,
      };
      // A payment stored under the same key already (a retry, or a concurrent request that won)
      // stops the insert at the unique constraint, and is read instead: no read first, which
      // every new payment would pay for (the service has looked the key up already).
      const inserted = await this.queries.insertPayment.run(trx, row);
      if (Number(inserted.numAffectedRows ?? 0) === 0) {
        const [winner] = (await this.queries.byIdempotencyKey.run(trx, { merchantId: payment.merchantId, key: payment.idempotencyKey! })).rows;
        if (!winner) throw new Error(`payment ${payment.id} was neither stored nor found by its idempotency key`);
        return { kind: 'existing', payment: toRecord(winner) };
      }
      const record = toRecord(row);
      await this.insertEvent(trx, record, 'created', now);
      return { kind: 'created', payment: record };
    });
  }

  async getPayment(id: string): Promise<PaymentRecord | undefined> {
    const [row] = (await this.queries.byId.run(this.db, { id })).rows;
    return row ? toRecord(row) : undefined;
  }

  async recentForPhone(merchantId: string, phone: string, since: number, limit: number): Promise<PaymentRecord[]> {
    let query = this.recentForPhoneQueries.get(limit);
    if (query === undefined) {
      const rowLimit = literalLimit(limit);
      query = new Precompiled((p: { merchantId: string; phone: string; since: number }) =>
        this.db
          .selectFrom('payments')
          .selectAll()
          .where('merchant_id', '=', p.merchantId)
          .where('phone', '=', p.phone)
          .where('created_at', '>=', p.since)
          .orderBy('created_at', 'desc')
          .limit(rowLimit),
      );
      this.recentForPhoneQueries.set(limit, query);
    }
    const { rows } = await query.run(this.db, { merchantId, phone, since });
    return rows.map(toRecord);
  }

  async failureTimes(merchantId: string, since: number): Promise<number[]> {
    const { rows } = await this.queries.failureTimes.run(this.db, { merchantId, since });
    return rows.map((row) => Number(row.updated_at));
  }

  async findByIdempotencyKey(merchantId: string, key: string): Promise<PaymentRecord | undefined> {
    const [row] = (await this.queries.byIdempotencyKey.run(this.db, { merchantId, key })).rows;
    return row ? toRecord(row) : undefined;
  }

  async listPayments(query: PaymentListQuery): Promise<PaymentRecord[]> {
    let select = this.db.selectFrom('payments').selectAll().where('merchant_id', '=', query.merchantId);
    if (query.reference !== undefined) select = select.where('reference', '=', query.reference);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.after) {
      const { createdAt, id } = query.after;
      select = select.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
    }
    const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(literalLimit(query.limit)).execute();
    return rows.map(toRecord);
  }

  async findByProviderRef(provider: string, providerRef: string): Promise<PaymentRecord | undefined> {
    const [row] = (await this.queries.byProviderRef.run(this.db, { provider, providerRef })).rows;
    return row ? toRecord(row) : undefined;
  }

  async findUnreferenced(provider: string, phone: string, amount: number, since: number): Promise<PaymentRecord[]> {
    const rows = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('provider', '=', provider)
      .where('provider_ref', 'is', null)
      .where('push_state', '=', 'sent')
      .where('status', 'in', NON_TERMINAL)
      .where('phone', '=', phone)
      .where('amount', '=', amount)
      .where('created_at', '>=', since)
      .orderBy('created_at', 'desc')
      .limit(literalLimit(5))
      .execute();
    return rows.map(toRecord);
  }

  async updatePayment(
    id: string,
    patch: PaymentPatch,
    source: string,
    now: number,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    return this.db.transaction().execute(async (trx) => {
      const result = await this.updateIn(trx, id, patch, source, now, options.webhook !== false);
      const { callback } = options;
      // A receipt another payment has: the caller holds the payment for review, with the callback.
      if (callback && result.kind !== 'receipt_held') {
        const { otherwise, ...record } = callback;
        await this.insertCallback(trx, { ...record, verdict: result.kind === 'updated' && result.event ? 'applied' : otherwise });
      }
      return result;
    });
  }

  /** `updatePayment`'s work, inside its transaction. */
  private async updateIn(trx: Transaction<Database>, id: string, patch: PaymentPatch, source: string, now: number, webhook: boolean): Promise<UpdateResult> {
    const [row] = (await this.queries.byIdToUpdate.run(trx, { id })).rows;
    if (!row) return { kind: 'missing' };
    const current = toRecord(row);
    let statusChanges = false;
    let statusPatch: Partial<PaymentRecord> = {};
    if (patch.status !== undefined) {
      const verdict = transition(current.status, patch.status);
      if (verdict.kind === 'ignore') return { kind: 'unchanged', payment: current, reason: verdict.reason };
      if (verdict.kind === 'same' && isTerminal(current.status)) {
        // A finished payment told its outcome again (a late callback, a query racing it) keeps the
        // details it finished with: its event, the merchant's webhook and its view carry them. Only
        // a receipt it lacks is filled in (Daraja's status query gives none; its callback does).
        if (current.status !== 'succeeded' || current.receipt !== null || !patch.receipt) return { kind: 'unchanged', payment: current, reason: `already ${current.status}` };
        patch = { receipt: patch.receipt };
      }
      statusChanges = verdict.kind === 'apply';
    }
    // A receipt is one M-Pesa transaction, so one payment's: one that another payment has is
    // another request's, pinned on this one (a callback's receipt, which Daraja's status query
    // cannot confirm). Read inside the change's own transaction: no wait for the disk.
    if (patch.receipt && patch.receipt !== current.receipt) {
      const [holder] = (await this.queries.receiptHolder.run(trx, { provider: current.provider, receipt: patch.receipt, id })).rows;
      if (holder) return { kind: 'receipt_held', payment: current, holder: holder.id };
    }
    if (statusChanges) statusPatch = { status: patch.status!, seq: current.seq + 1 };
    const next: PaymentRecord = {
      ...current,
      ...definedOnly(patch),
      ...(statusChanges ? statusPatch : { status: current.status }),
      updatedAt: now,
    };
    await this.queries.updatePayment.run(trx, {
      id,
      status: next.status,
      provider_ref: next.providerRef,
      push_state: next.pushState,
      failure_code: next.failureCode,
      failure_message: next.failureMessage,
      receipt: next.receipt,
      seq: next.seq,
      next_check_at: next.nextCheckAt,
      check_attempts: next.checkAttempts,
      review_reason: next.reviewReason,
      updated_at: now,
    });
    const event = statusChanges ? await this.insertEvent(trx, next, source, now) : null;
    if (event && TERMINAL.includes(next.status) && webhook) {
      await this.queries.queueWebhook.run(trx, {
        event_id: webhookEventId(next),
        merchant_id: next.merchantId,
        payment_id: next.id,
        attempts: 0,
        next_attempt_at: now,
        delivered_at: null,
        last_error: null,
        created_at: now,
      });
    }
    return { kind: 'updated', payment: next, event, previousStatus: current.status };
  }

  async eventsAfter(paymentId: string, afterSeq: number): Promise<PaymentEventRecord[]> {
    const { rows } = await this.queries.eventsAfter.run(this.db, { paymentId, afterSeq });
    return rows.map(toEvent);
  }

  async latestEvent(paymentId: string): Promise<PaymentEventRecord | undefined> {
    const [row] = (await this.queries.latestEvent.run(this.db, { paymentId })).rows;
    return row ? toEvent(row) : undefined;
  }

  async claimPush(id: string, now: number, nextCheckAt: number): Promise<boolean> {
    const result = await this.queries.claimPush.run(this.db, { id, now, nextCheckAt });
    return Number(result.numAffectedRows) === 1;
  }

  async claimDueChecks(now: number, leaseUntil: number, limit: number): Promise<PaymentRecord[]> {
    const due = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('status', 'in', NON_TERMINAL)
      .where('next_check_at', 'is not', null)
      .where('next_check_at', '<=', now)
      .orderBy('next_check_at')
      .limit(literalLimit(limit))
      .execute();
    const claimed: PaymentRecord[] = [];
    for (const row of due) {
      // Compare-and-set on the old due time: another instance that claimed it first wins.
      const result = await this.db
        .updateTable('payments')
        .set({ next_check_at: leaseUntil })
        .where('id', '=', row.id)
        .where('next_check_at', '=', row.next_check_at)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) claimed.push({ ...toRecord(row), nextCheckAt: leaseUntil });
    }
    return claimed;
  }

  async claimDueWebhooks(now: number, leaseUntil: number, limit: number, skipMerchants: readonly string[] = [], roomOf?: (merchantId: string) => number): Promise<WebhookDelivery[]> {
    const due = await this.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .where('delivered_at', 'is', null)
      .where('next_attempt_at', 'is not', null)
      .where('next_attempt_at', '<=', now)
      .$if(skipMerchants.length > 0, (query) => query.where('merchant_id', 'not in', skipMerchants))
      .orderBy('next_attempt_at')
      .limit(literalLimit(limit))
      .execute();
    const claimed: WebhookDelivery[] = [];
    const taken = new Map<string, number>();
    for (const row of due) {
      // A merchant's share of this batch is what it has room for; the rest stay due.
      const merchantTaken = taken.get(row.merchant_id) ?? 0;
      if (roomOf && merchantTaken >= roomOf(row.merchant_id)) continue;
      const result = await this.db
        .updateTable('webhook_outbox')
        .set({ next_attempt_at: leaseUntil })
        .where('event_id', '=', row.event_id)
        .where('next_attempt_at', '=', row.next_attempt_at)
        .where('delivered_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) {
        claimed.push({ ...toDelivery(row), nextAttemptAt: leaseUntil });
        taken.set(row.merchant_id, merchantTaken + 1);
      }
    }
    return claimed;
  }

  async markWebhookDelivered(eventId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_outbox')
      .set((eb) => ({ delivered_at: now, next_attempt_at: null, attempts: eb('attempts', '+', 1), last_error: null }))
      .where('event_id', '=', eventId)
      .where('delivered_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async recordWebhookFailure(eventId: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 500) })
      .where('event_id', '=', eventId)
      .where('delivered_at', 'is', null)
      .execute();
  }

  async webhookDeliveries(paymentId: string): Promise<WebhookDelivery[]> {
    const rows = await this.db.selectFrom('webhook_outbox').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').execute();
    return rows.map(toDelivery);
  }

  async recordCallback(callback: CallbackRecord): Promise<void> {
    await this.insertCallback(this.db, callback);
  }

  private async insertCallback(db: Kysely<Database>, callback: CallbackRecord): Promise<void> {
    await this.queries.insertCallback.run(db, {
      provider: callback.provider,
      provider_ref: callback.providerRef,
      payment_id: callback.paymentId,
      verdict: callback.verdict,
      body: callback.body,
      received_at: callback.receivedAt,
    });
  }

  async callbacksFor(paymentId: string): Promise<CallbackRecord[]> {
    const rows = await this.db
      .selectFrom('provider_callbacks')
      .selectAll()
      .where('payment_id', '=', paymentId)
      .orderBy('received_at')
      .execute();
    return rows.map((r) => ({
      provider: r.provider,
      providerRef: r.provider_ref,
      paymentId: r.payment_id,
      verdict: r.verdict,
      body: r.body,
      receivedAt: Number(r.received_at),
    }));
  }

  async countsForMetrics(overdueBefore: number): Promise<StoreCounts> {
    const [payments, checks, webhooks] = await Promise.all([
      // A scan of the (provider, status) index alone, never of the table.
      this.db
        .selectFrom('payments')
        .select((eb) => ['provider', 'status', eb.fn.countAll<number | string>().as('count')])
        .groupBy(['provider', 'status'])
        .execute(),
      // Only open payments have a due time (a final one's is cleared), so the next_check_at index
      // walks the backlog and nothing else; likewise undelivered webhooks for next_attempt_at.
      // `>= 0` rather than `is not null`: a range, which SQLite's planner serves from the index.
      this.db
        .selectFrom('payments')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('waiting'),
          eb.fn.countAll<number | string>().filterWhere('next_check_at', '<', overdueBefore).as('overdue'),
        ])
        .where('next_check_at', '>=', 0)
        .where('status', 'in', NON_TERMINAL)
        .executeTakeFirstOrThrow(),
      this.db
        .selectFrom('webhook_outbox')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('waiting'),
          eb.fn.countAll<number | string>().filterWhere('next_attempt_at', '<', overdueBefore).as('overdue'),
        ])
        .where('next_attempt_at', '>=', 0)
        .where('delivered_at', 'is', null)
        .executeTakeFirstOrThrow(),
    ]);
    return {
      payments: payments.map((row) => ({ provider: row.provider, status: row.status as PaymentStatus, count: Number(row.count) })),
      checks: { waiting: Number(checks.waiting), overdue: Number(checks.overdue) },
      webhooks: { waiting: Number(webhooks.waiting), overdue: Number(webhooks.overdue) },
    };
  }

  async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    // In-process order first, so one instance holds at most one database connection per key.
    return this.localLocks.run(key, async () => {
      if (!this.rowLocks) return work();
      return this.lockHolders.run(() =>
        this.db.connection().execute(async (connection) => {
          await sql`select pg_advisory_lock(hashtextextended(${key}, 0))`.execute(connection);
          try {
            return await work();
          } finally {
            await sql`select pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(connection);
          }
        }),
      );
    });
  }

  async getOrSetSetting(key: string, value: string): Promise<string> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
    return row.value;
  }

  async ping(): Promise<void> {
    // A write, not `select 1`: a full disk or a read-only database still answers reads, and the
    // relay cannot take a payment without writing. (SQLite: resolved once it is on disk.)
    await this.db
      .insertInto('settings')
      .values({ key: 'readiness_probe', value: String(Date.now()) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: (eb) => eb.ref('excluded.value') }))
      .execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private async insertEvent(
    trx: Transaction<Database>,
    payment: PaymentRecord,
    source: string,
    now: number,
  ): Promise<PaymentEventRecord> {
    const event: PaymentEventsTable = {
      payment_id: payment.id,
      seq: payment.seq,
      status: payment.status,
      source,
      view: JSON.stringify(toView(payment)),
      at: now,
    };
    await this.queries.insertEvent.run(trx, event);
    return toEvent(event);
  }
}

/** Every column of each table a precompiled query inserts a whole row into. */
const PAYMENT_COLUMNS: Record<keyof PaymentsTable, true> = {
  id: true,
  merchant_id: true,
  status: true,
  amount: true,
  reference: true,
  description: true,
  phone: true,
  provider: true,
  provider_ref: true,
  push_state: true,
  failure_code: true,
  failure_message: true,
  receipt: true,
  seq: true,
  idempotency_key: true,
  request_hash: true,
  next_check_at: true,
  check_attempts: true,
  review_reason: true,
  created_at: true,
  updated_at: true,
};
const EVENT_COLUMNS: Record<keyof PaymentEventsTable, true> = { payment_id: true, seq: true, status: true, source: true, view: true, at: true };
const OUTBOX_COLUMNS: Record<keyof WebhookOutboxTable, true> = {
  event_id: true,
  merchant_id: true,
  payment_id: true,
  attempts: true,
  next_attempt_at: true,
  delivered_at: true,
  last_error: true,
  created_at: true,
};
const CALLBACK_COLUMNS: Record<keyof CallbacksTable, true> = { provider: true, provider_ref: true, payment_id: true, verdict: true, body: true, received_at: true };

/**
 * A row limit written into the SQL rather than bound. SQLite (3.53, with STAT4 as better-sqlite3
 * builds it) lets a bound LIMIT steer its plan, so binding one expires the prepared statement and
 * every run prepares it again: about 30 µs on the payments table, more than the query itself.
 * One such query runs for every payment created (the abuse rules' recent payments of a phone).
 */
function literalLimit(limit: number) {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`a row limit must be a whole number, not ${limit}`);
  return sql.lit(limit);
}

function definedOnly(patch: PaymentPatch): Partial<PaymentRecord> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) if (value !== undefined && key !== 'status') out[key] = value;
  return out as Partial<PaymentRecord>;
}
