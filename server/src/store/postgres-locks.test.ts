/**
 * PostgreSQL specifics of the store. The per-phone advisory locks on PostgreSQL hold a pooled connection each. Work done under them
 * needs connections too, so more phones at once than the pool has connections must still all go
 * through: found by the throughput benchmark, where ten payments at once stopped the relay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSchema, dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../testing/postgres.js';
import { openPostgresStore } from './postgres.js';
import type { KyselyPaymentStore } from './kysely-store.js';

const pgReady = await requirePostgres();

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe.runIf(pgReady)('PostgreSQL advisory locks', () => {
  it('runs locked work for more phones at once than the pool has connections, each doing two queries at a time', async () => {
    const schema = freshSchema();
    const store: KyselyPaymentStore = await openPostgresStore(TEST_DATABASE_URL, { schema, maxConnections: 4 });
    cleanup = async () => {
      await store.close();
      await dropSchema(schema);
    };
    const now = Date.now();
    const phones = Array.from({ length: 12 }, (_, i) => `2547110000${String(i).padStart(2, '0')}`);
    const all = Promise.all(
      phones.map((phone) =>
        store.withLock(`phone:m1:${phone}`, async () => {
          const [recent, failures] = await Promise.all([store.recentForPhone('m1', phone, now - 60_000, 20), store.failureTimes('m1', now - 60_000)]);
          return recent.length + failures.length;
        }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => {
      timer = setTimeout(() => resolve('stuck'), 10_000);
    });
    const outcome = await Promise.race([all, stuck]);
    clearTimeout(timer);
    expect(outcome).toEqual(phones.map(() => 0));
  });
});

describe.runIf(pgReady)('PostgreSQL schemas', () => {
  it('migrates into the schema its search_path names even when another schema on the server holds a relay already', async () => {
    const other = freshSchema();
    const mine = freshSchema();
    const first = await openPostgresStore(TEST_DATABASE_URL, { schema: other });
    await createSchema(mine);
    cleanup = async () => {
      await first.close();
      await dropSchema(other);
      await dropSchema(mine);
    };
    // As an operator sets it: only the URL names the schema.
    const second = await openPostgresStore(`${TEST_DATABASE_URL}?options=-c%20search_path%3D${mine}`);
    try {
      await second.ping();
      expect(await second.getOrSetSetting('probe', 'in-mine')).toBe('in-mine');
      expect(await first.getOrSetSetting('probe', 'in-other')).toBe('in-other');
    } finally {
      await second.close();
    }
  });
});
