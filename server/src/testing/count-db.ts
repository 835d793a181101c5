/** Reads a relay's SQLite file directly, so tests can prove what was (not) stored. */
import BetterSqlite3 from 'better-sqlite3';

export function countRows(dbPath: string, table: 'payments' | 'payment_events' | 'provider_callbacks'): number {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}
