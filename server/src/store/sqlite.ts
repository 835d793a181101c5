/** The embedded default store: one SQLite file in WAL mode, created on start. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyPaymentStore, type Database } from './kysely-store.js';

export async function openSqliteStore(path: string): Promise<KyselyPaymentStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  // FULL: a payment acknowledged to a customer survives a power cut, not only a process kill.
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  const store = new KyselyPaymentStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), false);
  await store.init();
  return store;
}
