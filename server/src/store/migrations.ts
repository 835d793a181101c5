/**
 * The schema, as Kysely migrations: applied in order on start, each once, on SQLite and
 * PostgreSQL alike. Never edit a migration that has shipped; add the next one.
 */
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** `bigint` for PostgreSQL (millisecond times overflow int4); SQLite's integer is 64-bit already. */
export function migrations(bigint: 'bigint' | 'integer'): Record<string, Migration> {
  return {
    '001_initial': {
      async up(db: Kysely<any>): Promise<void> {
        await db.schema
          .createTable('payments')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('merchant_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('amount', 'integer', (c) => c.notNull())
          .addColumn('reference', 'text')
          .addColumn('description', 'text')
          .addColumn('phone', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('provider_ref', 'text')
          .addColumn('push_state', 'text', (c) => c.notNull())
          .addColumn('failure_code', 'text')
          .addColumn('failure_message', 'text')
          .addColumn('receipt', 'text')
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('idempotency_key', 'text')
          .addColumn('request_hash', 'text')
          .addColumn('next_check_at', bigint)
          .addColumn('check_attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .addUniqueConstraint('payments_idempotency', ['merchant_id', 'idempotency_key'])
          .execute();
        await db.schema.createIndex('payments_provider_ref').ifNotExists().on('payments').columns(['provider', 'provider_ref']).execute();
        await db.schema.createIndex('payments_merchant_created').ifNotExists().on('payments').columns(['merchant_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('payments_merchant_phone').ifNotExists().on('payments').columns(['merchant_id', 'phone', 'created_at']).execute();
        await db.schema.createIndex('payments_merchant_status').ifNotExists().on('payments').columns(['merchant_id', 'status', 'updated_at']).execute();
        await db.schema.createIndex('payments_next_check').ifNotExists().on('payments').columns(['next_check_at']).execute();
        await db.schema
          .createTable('payment_events')
          .ifNotExists()
          .addColumn('payment_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('view', 'text', (c) => c.notNull())
          .addColumn('at', bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('payment_events_pk', ['payment_id', 'seq'])
          .execute();
        await db.schema
          .createTable('provider_callbacks')
          .ifNotExists()
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('provider_ref', 'text')
          .addColumn('payment_id', 'text')
          .addColumn('verdict', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('received_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('provider_callbacks_payment').ifNotExists().on('provider_callbacks').columns(['payment_id']).execute();
        await db.schema
          .createTable('webhook_outbox')
          .ifNotExists()
          .addColumn('event_id', 'text', (c) => c.primaryKey())
          .addColumn('merchant_id', 'text', (c) => c.notNull())
          .addColumn('payment_id', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', bigint)
          .addColumn('delivered_at', bigint)
          .addColumn('last_error', 'text')
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhook_outbox_due').ifNotExists().on('webhook_outbox').columns(['next_attempt_at']).execute();
        await db.schema.createIndex('webhook_outbox_payment').ifNotExists().on('webhook_outbox').columns(['payment_id']).execute();
        await db.schema
          .createTable('settings')
          .ifNotExists()
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '002_review_reason': {
      async up(db: Kysely<any>): Promise<void> {
        await db.schema.alterTable('payments').addColumn('review_reason', 'text').execute();
      },
    },
    '003_payments_provider_status': {
      async up(db: Kysely<any>): Promise<void> {
        // Covers /metrics' count of payments by provider and status: an index-only scan.
        await db.schema.createIndex('payments_provider_status').ifNotExists().on('payments').columns(['provider', 'status']).execute();
      },
    },
    // An M-Pesa receipt is one payment's: a provider answer naming a receipt another payment holds is held for review.
    '004_payments_provider_receipt': {
      async up(db: Kysely<any>): Promise<void> {
        await db.schema.createIndex('payments_provider_receipt').ifNotExists().on('payments').columns(['provider', 'receipt']).execute();
      },
    },
  };
}
