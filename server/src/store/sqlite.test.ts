import { mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { KyselyPaymentStore, type Database } from './kysely-store.js';
import { openSqliteStore, WalFlusher } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'stk-sqlite-'));
  dirs.push(dir);
  return dir;
};

describe('WAL group commit', () => {
  it('a commit waits for an fsync that began after it; commits made before one fsync began share it', async () => {
    const flusher = new WalFlusher(openSync(join(tempDir(), 'wal'), 'a'));
    flusher.committed();
    flusher.committed();
    const first = flusher.flushed();
    const alsoFirst = flusher.flushed();
    // Committed once the first fsync has begun: needs one of its own.
    await new Promise((resolve) => setImmediate(resolve));
    flusher.committed();
    const second = flusher.flushed();
    await Promise.all([first, alsoFirst, second]);
    expect(flusher.flushes).toBe(2);
    // Nothing new since: no fsync.
    await flusher.flushed();
    expect(flusher.flushes).toBe(2);
    flusher.close();
  });

  it('payments created together are each durable when created, with far fewer fsyncs than payments', async () => {
    const path = join(tempDir(), 'relay.sqlite');
    const store = await openSqliteStore(path);
    const now = Date.now();
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.createPayment(
          { id: `pay_durable_${i}`, merchantId: 'm1', amount: 100, phone: `2547110000${String(i).padStart(2, '0')}`, reference: null, description: null, provider: 'sandbox', idempotencyKey: null, requestHash: 'h', nextCheckAt: null },
          now,
        ),
      ),
    );
    expect(created.every((result) => result.kind === 'created')).toBe(true);
    // Another connection (another process, after a crash) sees every one of them.
    const reader = new BetterSqlite3(path, { readonly: true });
    expect(reader.prepare('select count(*) as n from payments').get()).toEqual({ n: 40 });
    reader.close();
    await store.close();
  });

  it('checkpoints in a worker thread: the WAL reaches the database file with no checkpoint in the relay\'s commits', async () => {
    const path = join(tempDir(), 'relay.sqlite');
    const store = await openSqliteStore(path);
    const sizeAfterStart = statSync(path).size;
    const now = Date.now();
    for (let i = 0; i < 150; i++) {
      await store.createPayment(
        { id: `pay_checkpoint_${i}`, merchantId: 'm1', amount: 100, phone: `2547120${String(i).padStart(5, '0')}`, reference: `INV-${i}`, description: 'x'.repeat(200), provider: 'sandbox', idempotencyKey: `key-${i}`, requestHash: 'h', nextCheckAt: now },
        now,
      );
    }
    // Far below the relay connection's own threshold (20,000 pages): only the worker copies them.
    const deadline = Date.now() + 5_000;
    while (statSync(path).size <= sizeAfterStart + 100 * 1024) {
      if (Date.now() > deadline) throw new Error(`the database file stayed at ${statSync(path).size} bytes`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await store.close();
    const reader = new BetterSqlite3(path, { readonly: true });
    expect(reader.prepare('select count(*) as n from payments').get()).toEqual({ n: 150 });
    reader.close();
  });
});

describe('the write batch', () => {
  const newPayment = (i: number, reference: string) => ({
    id: `pay_batch_${i}`,
    merchantId: 'm1',
    amount: 100,
    phone: `2547130${String(i).padStart(5, '0')}`,
    reference,
    description: null,
    provider: 'sandbox',
    idempotencyKey: `batch-${i}`,
    requestHash: 'h',
    nextCheckAt: null,
  });
  /** A store on a file whose payments table runs `action` for payments with reference `reference`. */
  async function storeWithTrigger(action: string, reference: string) {
    const path = join(tempDir(), 'relay.sqlite');
    await (await openSqliteStore(path)).close();
    const raw = new BetterSqlite3(path);
    raw.exec(`create trigger test_trigger before insert on payments when new.reference = '${reference}' begin select ${action}; end`);
    raw.close();
    return { path, store: await openSqliteStore(path) };
  }
  const idsOnDisk = (path: string) => {
    const reader = new BetterSqlite3(path, { readonly: true });
    const ids = (reader.prepare('select id from payments').all() as { id: string }[]).map((row) => row.id);
    reader.close();
    return new Set(ids);
  };

  it('a read that sees a write still in the batch returns only once that write is committed and flushed', async () => {
    const path = join(tempDir(), 'relay.sqlite');
    const store = await openSqliteStore(path);
    const now = Date.now();
    const reader = new BetterSqlite3(path, { readonly: true });
    const committed = (id: string) => reader.prepare('select count(*) as n from payments where id = ?').get(id) as { n: number };
    let seen = 0;
    for (let i = 0; i < 20; i += 2) {
      const first = store.createPayment(newPayment(i, `INV-${i}`), now);
      // The first payment's flush is under way (its fsync runs off the event loop)...
      await new Promise((resolve) => setImmediate(resolve));
      // ...so the second joins a new batch, and the read sees it there, uncommitted.
      const second = store.createPayment(newPayment(i + 1, `INV-${i + 1}`), now);
      const read = await store.getPayment(`pay_batch_${i + 1}`);
      if (read) {
        seen++;
        expect(committed(`pay_batch_${i + 1}`), `read ${i + 1}`).toEqual({ n: 1 });
      }
      await Promise.all([first, second]);
    }
    expect(seen).toBeGreaterThan(0);
    reader.close();
    await store.close();
  });

  it('a store transaction that fails is rolled back alone: the writes committed with it stay', async () => {
    const { path, store } = await storeWithTrigger("raise(abort, 'refused by the test')", 'REFUSE');
    const now = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => store.createPayment(newPayment(i, i === 10 ? 'REFUSE' : `INV-${i}`), now)));
    expect(results.map((result) => result.status === 'fulfilled')).toEqual(Array.from({ length: 30 }, (_, i) => i !== 10));
    await store.close();
    const onDisk = idsOnDisk(path);
    expect(onDisk.size).toBe(29);
    expect(onDisk.has('pay_batch_10')).toBe(false);
  });

  it('when SQLite rolls back a whole batch, the calls in progress fail, every call that succeeded is on disk, and the store goes on', async () => {
    const { path, store } = await storeWithTrigger("raise(rollback, 'the whole transaction, by the test')", 'ROLLBACK');
    const now = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => store.createPayment(newPayment(i, i === 20 ? 'ROLLBACK' : `INV-${i}`), now)));
    const succeeded = results.flatMap((result, i) => (result.status === 'fulfilled' ? [`pay_batch_${i}`] : []));
    expect(results[20]?.status).toBe('rejected');
    // The store goes on with a batch of its own.
    expect((await store.createPayment(newPayment(99, 'INV-99'), now)).kind).toBe('created');
    await store.close();
    const onDisk = idsOnDisk(path);
    for (const id of succeeded) expect(onDisk.has(id), id).toBe(true);
    expect(onDisk.has('pay_batch_99')).toBe(true);
    expect(onDisk.has('pay_batch_20')).toBe(false);
  });
});

describe('prepared statements', () => {
  it('the store writes its row limits into the SQL: a bound LIMIT makes SQLite prepare the statement again at every run', async () => {
    const statements: string[] = [];
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    });
    const store = new KyselyPaymentStore(db, false);
    await store.init();
    const now = Date.now();
    await store.recentForPhone('m1', '254711000001', now - 60_000, 20);
    await store.listPayments({ merchantId: 'm1', limit: 10 });
    await store.findUnreferenced('sandbox', '254711000001', 100, now - 60_000);
    await store.latestEvent('pay_1');
    await store.claimDueChecks(now, now + 60_000, 50);
    await store.claimDueWebhooks(now, now + 60_000, 50);
    const limited = statements.filter((text) => /\blimit\b/i.test(text));
    expect(limited).toHaveLength(6);
    expect(limited.filter((text) => /\blimit\s+\?/i.test(text))).toEqual([]);
    await expect(store.recentForPhone('m1', '254711000001', now, 1.5)).rejects.toThrow(/whole number/);
    await store.close();
  });
});
