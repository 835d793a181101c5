/** The embedded default store: one SQLite file in WAL mode, created on start. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import { KyselyPaymentStore, type Database } from './kysely-store.js';

/** Statements kept prepared, by SQL text. The store's queries are a few dozen fixed shapes. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The database as Kysely's SQLite driver sees it, with prepared statements reused: the driver
 * prepares every query afresh, which was the largest single cost of creating a payment (about a
 * seventh of the relay's CPU under load). Statements are reusable once run (better-sqlite3 resets
 * them), and the driver runs one query at a time on this one connection.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

export async function openSqliteStore(path: string): Promise<KyselyPaymentStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  // FULL: a payment acknowledged to a customer survives a power cut, not only a process kill.
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  const store = new KyselyPaymentStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }), false);
  await store.init();
  return store;
}
