/**
 * One conformance suite for every PaymentStore: the embedded SQLite file and PostgreSQL must
 * behave alike, including under concurrent callers (several relay instances).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newPaymentId } from '../payments/service.js';
import { dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../testing/postgres.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { NewPayment, PaymentStore } from './types.js';

interface Backend {
  name: string;
  /** `another` opens a second instance on the same database (several relays), where that exists. */
  open(): Promise<{ store: PaymentStore; cleanup(): Promise<void>; another?(): Promise<PaymentStore> }>;
}

const pgReady = await requirePostgres();

const backends: Backend[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'stk-store-'));
      const store = await openSqliteStore(join(dir, 'store.sqlite'));
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  ...(pgReady
    ? [
        {
          name: 'PostgreSQL',
          async open() {
            const schema = freshSchema();
            const store = await openPostgresStore(TEST_DATABASE_URL, { schema });
            return { store, cleanup: () => dropSchema(schema), another: () => openPostgresStore(TEST_DATABASE_URL, { schema }) };
          },
        },
      ]
    : []),
];

function newPayment(overrides: Partial<NewPayment> = {}): NewPayment {
  return {
    id: newPaymentId(),
    merchantId: 'm1',
    amount: 250,
    reference: 'INV-9',
    description: null,
    phone: '254708374149',
    provider: 'sandbox',
    idempotencyKey: null,
    requestHash: null,
    nextCheckAt: null,
    ...overrides,
  };
}

describe.each(backends)('$name store', (backend) => {
  let store: PaymentStore;
  let cleanup: () => Promise<void>;
  let another: (() => Promise<PaymentStore>) | undefined;
  const t0 = 1_790_000_000_000;

  beforeEach(async () => {
    ({ store, cleanup, another } = await backend.open());
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  it('creates a payment with its first event, and returns the stored one for a repeated idempotency key', async () => {
    const first = await store.createPayment(newPayment({ idempotencyKey: 'key-1' }), t0);
    expect(first.kind).toBe('created');
    const again = await store.createPayment(newPayment({ idempotencyKey: 'key-1' }), t0 + 1);
    expect(again).toMatchObject({ kind: 'existing', payment: { id: first.payment.id } });
    expect((await store.eventsAfter(first.payment.id, 0)).map((e) => [e.seq, e.status])).toEqual([[1, 'pending']]);
    expect(await store.findByIdempotencyKey('m1', 'key-1')).toMatchObject({ id: first.payment.id });
  });

  it('lets exactly one of many concurrent creates with one idempotency key win', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => store.createPayment(newPayment({ idempotencyKey: 'race' }), t0)));
    expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
    expect(new Set(results.map((r) => r.payment.id)).size).toBe(1);
  });

  it('moves through the state machine with increasing seq, and never changes a terminal payment', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    const awaiting = await store.updatePayment(payment.id, { status: 'awaiting_customer', providerRef: 'ref-1' }, 'push', t0 + 1);
    expect(awaiting).toMatchObject({ kind: 'updated', previousStatus: 'pending', payment: { status: 'awaiting_customer', seq: 2, providerRef: 'ref-1' } });
    const paid = await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'RCPT000001' }, 'callback', t0 + 2);
    expect(paid).toMatchObject({ kind: 'updated', previousStatus: 'awaiting_customer', payment: { status: 'succeeded', seq: 3, receipt: 'RCPT000001' } });
    const late = await store.updatePayment(payment.id, { status: 'failed', failureCode: 'cancelled' }, 'callback', t0 + 3);
    expect(late).toMatchObject({ kind: 'unchanged', reason: 'already succeeded' });
    expect((await store.getPayment(payment.id))?.status).toBe('succeeded');
    expect((await store.eventsAfter(payment.id, 1)).map((e) => e.status)).toEqual(['awaiting_customer', 'succeeded']);
    expect((await store.latestEvent(payment.id))?.seq).toBe(3);
    expect(await store.findByProviderRef('sandbox', 'ref-1')).toMatchObject({ id: payment.id });
  });

  it('commits one terminal event and one webhook when two instances finish a payment at once', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'awaiting_customer' }, 'push', t0);
    const results = await Promise.all([
      store.updatePayment(payment.id, { status: 'succeeded', receipt: 'A' }, 'callback', t0 + 1),
      store.updatePayment(payment.id, { status: 'succeeded', receipt: 'A' }, 'query', t0 + 1),
      store.updatePayment(payment.id, { status: 'failed', failureCode: 'cancelled' }, 'callback', t0 + 1),
    ]);
    expect(results.filter((r) => r.kind === 'updated' && r.event !== null)).toHaveLength(1);
    expect((await store.eventsAfter(payment.id, 2)).length).toBe(1);
    expect(await store.webhookDeliveries(payment.id)).toHaveLength(1);
  });

  it('finishes a payment without a webhook when told the merchant has no webhook URL', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'awaiting_customer' }, 'push', t0, { webhook: false });
    const result = await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'A' }, 'callback', t0 + 1, { webhook: false });
    expect(result).toMatchObject({ kind: 'updated', payment: { status: 'succeeded' } });
    expect(await store.webhookDeliveries(payment.id)).toEqual([]);
  });

  it('records the callback that brought a change in the same update: applied when it changed the status, the given verdict when not', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'awaiting_customer' }, 'push', t0);
    const callback = { provider: 'sandbox', providerRef: 'ref-9', paymentId: payment.id, body: '{"paid":true}', receivedAt: t0 + 1, otherwise: 'duplicate' };
    await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'A' }, 'callback', t0 + 1, { callback });
    await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'A' }, 'callback', t0 + 2, { callback: { ...callback, receivedAt: t0 + 2 } });
    expect((await store.callbacksFor(payment.id)).map(({ verdict, receivedAt, body }) => ({ verdict, receivedAt, body }))).toEqual([
      { verdict: 'applied', receivedAt: t0 + 1, body: '{"paid":true}' },
      { verdict: 'duplicate', receivedAt: t0 + 2, body: '{"paid":true}' },
    ]);
  });

  it('keeps the failure reason a finished payment has when told the same outcome again with another reason', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'awaiting_customer' }, 'push', t0);
    await store.updatePayment(payment.id, { status: 'failed', failureCode: 'provider_error', failureMessage: 'no reason given' }, 'query', t0 + 1);
    const again = await store.updatePayment(payment.id, { status: 'failed', failureCode: 'cancelled', failureMessage: 'Request cancelled by user' }, 'callback', t0 + 2);
    expect(again).toMatchObject({ kind: 'unchanged', reason: 'already failed' });
    const stored = await store.getPayment(payment.id);
    expect(stored).toMatchObject({ status: 'failed', failureCode: 'provider_error', failureMessage: 'no reason given', seq: 3, updatedAt: t0 + 1 });
    expect(JSON.parse((await store.latestEvent(payment.id))!.view).failure.code).toBe('provider_error');
  });

  it('keeps the receipt a paid payment has when told it is paid again with another receipt', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'FIRST00001' }, 'callback', t0 + 1);
    await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'OTHER00002' }, 'query', t0 + 2);
    expect(await store.getPayment(payment.id)).toMatchObject({ status: 'succeeded', receipt: 'FIRST00001' });
  });

  it('fills in the receipt a paid payment lacks when told it is paid again, with no second event', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'succeeded' }, 'query', t0 + 1);
    await store.updatePayment(payment.id, { status: 'succeeded', receipt: 'LATE000001', failureCode: 'cancelled' }, 'callback', t0 + 2);
    expect(await store.getPayment(payment.id)).toMatchObject({ status: 'succeeded', receipt: 'LATE000001', failureCode: null, seq: 2 });
  });

  it('lets exactly one caller claim a push', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    const claims = await Promise.all(Array.from({ length: 6 }, () => store.claimPush(payment.id, t0, t0 + 5_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.getPayment(payment.id)).toMatchObject({ pushState: 'sent', nextCheckAt: t0 + 5_000 });
  });

  it('hands each due status check to one claimer only', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await store.createPayment(newPayment({ nextCheckAt: t0 }), t0)).payment.id);
    const [a, b] = await Promise.all([store.claimDueChecks(t0 + 1, t0 + 60_000, 10), store.claimDueChecks(t0 + 1, t0 + 60_000, 10)]);
    const claimed = [...a!, ...b!].map((p) => p.id).sort();
    expect(claimed).toEqual([...ids].sort());
    expect(await store.claimDueChecks(t0 + 2, t0 + 60_000, 10)).toEqual([]);
  });

  it('hands each due webhook to one claimer and marks it delivered once', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.updatePayment(payment.id, { status: 'failed', failureCode: 'cancelled', failureMessage: 'x' }, 'callback', t0);
    const [a, b] = await Promise.all([store.claimDueWebhooks(t0 + 1, t0 + 60_000, 5), store.claimDueWebhooks(t0 + 1, t0 + 60_000, 5)]);
    expect(a!.length + b!.length).toBe(1);
    const eventId = [...a!, ...b!][0]!.eventId;
    await store.recordWebhookFailure(eventId, 1, t0 + 10, 'merchant answered 500');
    expect(await store.claimDueWebhooks(t0 + 5, t0 + 60_000, 5)).toEqual([]);
    expect(await store.claimDueWebhooks(t0 + 10, t0 + 60_000, 5)).toHaveLength(1);
    expect(await store.markWebhookDelivered(eventId, t0 + 11)).toBe(true);
    expect(await store.markWebhookDelivered(eventId, t0 + 12)).toBe(false);
    expect((await store.webhookDeliveries(payment.id))[0]).toMatchObject({ attempts: 2, deliveredAt: t0 + 11 });
  });

  it("changes nothing when told a payment is paid with a receipt another payment of the provider has (one M-Pesa transaction is one payment's)", async () => {
    const a = (await store.createPayment(newPayment(), t0)).payment;
    const b = (await store.createPayment(newPayment({ amount: 99 }), t0)).payment;
    expect((await store.updatePayment(a.id, { status: 'succeeded', receipt: 'SAB1234567' }, 'callback', t0 + 1)).kind).toBe('updated');
    const held = await store.updatePayment(b.id, { status: 'succeeded', receipt: 'SAB1234567' }, 'callback', t0 + 2, { callback: { provider: 'sandbox', providerRef: 'ref-b', paymentId: b.id, body: '{}', receivedAt: t0 + 2, otherwise: 'duplicate' } });
    expect(held).toMatchObject({ kind: 'receipt_held', holder: a.id });
    expect(await store.getPayment(b.id)).toMatchObject({ status: 'pending', receipt: null, seq: b.seq });
    // Its callback is left for the caller to record, with the review.
    expect(await store.callbacksFor(b.id)).toEqual([]);
    // Another provider's receipt space is its own; the same receipt told again is no conflict.
    const c = (await store.createPayment(newPayment({ provider: 'daraja', amount: 98 }), t0)).payment;
    expect((await store.updatePayment(c.id, { status: 'succeeded', receipt: 'SAB1234567' }, 'callback', t0 + 3)).kind).toBe('updated');
    expect((await store.updatePayment(a.id, { status: 'succeeded', receipt: 'SAB1234567' }, 'query', t0 + 4)).kind).toBe('unchanged');
  });

  it('claims no due webhook of the merchants it is told to skip', async () => {
    for (const merchantId of ['m1', 'm2', 'm3']) {
      const { payment } = await store.createPayment(newPayment({ merchantId }), t0);
      await store.updatePayment(payment.id, { status: 'succeeded', receipt: `R${merchantId}` }, 'callback', t0);
    }
    const claimed = await store.claimDueWebhooks(t0 + 1, t0 + 60_000, 5, ['m1', 'm3']);
    expect(claimed.map((delivery) => delivery.merchantId)).toEqual(['m2']);
    expect((await store.claimDueWebhooks(t0 + 1, t0 + 60_000, 5, [])).map((delivery) => delivery.merchantId).sort()).toEqual(['m1', 'm3']);
  });

  it("lists a merchant's payments newest first, by page, with filters", async () => {
    for (let i = 0; i < 5; i++) await store.createPayment(newPayment({ reference: `R-${i}` }), t0 + i);
    await store.createPayment(newPayment({ merchantId: 'm2' }), t0 + 10);
    const page1 = await store.listPayments({ merchantId: 'm1', limit: 2 });
    expect(page1.map((p) => p.reference)).toEqual(['R-4', 'R-3']);
    const page2 = await store.listPayments({ merchantId: 'm1', limit: 10, after: { createdAt: page1[1]!.createdAt, id: page1[1]!.id } });
    expect(page2.map((p) => p.reference)).toEqual(['R-2', 'R-1', 'R-0']);
    expect(await store.listPayments({ merchantId: 'm1', limit: 10, reference: 'R-2' })).toHaveLength(1);
    expect(await store.listPayments({ merchantId: 'm1', limit: 10, status: 'succeeded' })).toHaveLength(0);
  });

  it('finds recent payments to a phone, failure times, and unreferenced pushes', async () => {
    const a = (await store.createPayment(newPayment(), t0)).payment;
    const b = (await store.createPayment(newPayment({ amount: 99 }), t0 + 1)).payment;
    await store.claimPush(b.id, t0 + 1, t0 + 100);
    await store.claimPush(a.id, t0, t0 + 100);
    await store.updatePayment(a.id, { status: 'failed', failureCode: 'cancelled' }, 'callback', t0 + 5);
    // A push the provider refused (or never received) sent no prompt: not a failure that counts.
    const refused = (await store.createPayment(newPayment({ amount: 98 }), t0 + 2)).payment;
    await store.claimPush(refused.id, t0 + 2, t0 + 100);
    await store.updatePayment(refused.id, { status: 'failed', failureCode: 'rejected', pushState: 'refused' }, 'push', t0 + 6);
    expect((await store.recentForPhone('m1', '254708374149', t0, 10)).map((p) => p.id)).toEqual([refused.id, b.id, a.id]);
    expect(await store.failureTimes('m1', t0)).toEqual([t0 + 5]);
    expect((await store.findUnreferenced('sandbox', '254708374149', 99, t0)).map((p) => p.id)).toEqual([b.id]);
  });

  it('lets one holder at a time into a lock, across instances where there are several', async () => {
    const stores = [store, ...(another ? [await another()] : [])];
    const timeline: string[] = [];
    const hold = (who: string, on: PaymentStore) =>
      on.withLock('phone:m1:254708374149', async () => {
        timeline.push(`${who} in`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        timeline.push(`${who} out`);
      });
    await Promise.all([hold('a', stores[0]!), hold('b', stores.at(-1)!), hold('c', stores[0]!)]);
    for (let i = 0; i < timeline.length; i += 2) expect(timeline[i + 1]).toBe(timeline[i]!.replace(' in', ' out'));
    await Promise.all([store.withLock('k1', async () => timeline.push('k1')), store.withLock('k2', async () => timeline.push('k2'))]);
    if (stores.length > 1) await stores[1]!.close();
  });

  it('counts payments by provider and status, and the due checks and webhooks with those overdue, for /metrics', async () => {
    expect(await store.countsForMetrics(t0)).toEqual({ payments: [], checks: { waiting: 0, overdue: 0 }, webhooks: { waiting: 0, overdue: 0 } });
    const overdue = (await store.createPayment(newPayment({ nextCheckAt: t0 - 60_000 }), t0 - 90_000)).payment;
    await store.createPayment(newPayment({ nextCheckAt: t0 + 5_000 }), t0);
    await store.createPayment(newPayment({ provider: 'daraja' }), t0);
    const paid = (await store.createPayment(newPayment({ nextCheckAt: t0 + 5_000 }), t0)).payment;
    await store.updatePayment(paid.id, { status: 'succeeded', nextCheckAt: null }, 'callback', t0 - 40_000);
    const failed = (await store.createPayment(newPayment({ nextCheckAt: t0 + 5_000 }), t0)).payment;
    await store.updatePayment(failed.id, { status: 'failed', failureCode: 'cancelled', nextCheckAt: null }, 'callback', t0);
    await store.updatePayment(overdue.id, { status: 'awaiting_customer' }, 'push', t0);
    // The failed payment's webhook was given up; the paid one's is due since t0 - 40 s.
    const [given] = await store.webhookDeliveries(failed.id);
    await store.recordWebhookFailure(given!.eventId, 1, null, 'merchant has no webhook URL');

    const counts = await store.countsForMetrics(t0 - 30_000);
    const byKey = Object.fromEntries(counts.payments.map((row) => [`${row.provider}/${row.status}`, row.count]));
    expect(byKey).toEqual({ 'sandbox/pending': 1, 'sandbox/awaiting_customer': 1, 'sandbox/succeeded': 1, 'sandbox/failed': 1, 'daraja/pending': 1 });
    expect(counts.checks).toEqual({ waiting: 2, overdue: 1 });
    expect(counts.webhooks).toEqual({ waiting: 1, overdue: 1 });
    await store.markWebhookDelivered((await store.webhookDeliveries(paid.id))[0]!.eventId, t0);
    expect((await store.countsForMetrics(t0 - 30_000)).webhooks).toEqual({ waiting: 0, overdue: 0 });
  });

  it('keeps the first value of a setting', async () => {
    expect(await store.getOrSetSetting('callback_token', 'first')).toBe('first');
    expect(await store.getOrSetSetting('callback_token', 'second')).toBe('first');
  });

  it('records callbacks per payment', async () => {
    const { payment } = await store.createPayment(newPayment(), t0);
    await store.recordCallback({ provider: 'sandbox', providerRef: 'r', paymentId: payment.id, verdict: 'applied', body: '{}', receivedAt: t0 });
    expect((await store.callbacksFor(payment.id)).map((c) => c.verdict)).toEqual(['applied']);
  });
});
