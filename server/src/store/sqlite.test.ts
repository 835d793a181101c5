import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
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
    // Committed while the first fsync may already be running: needs one of its own.
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
});
