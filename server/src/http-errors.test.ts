import BetterSqlite3 from 'better-sqlite3';
import type { FastifyError } from 'fastify';
import { describe, expect, it } from 'vitest';
import { toRelayError } from './http-errors.js';

describe('errors a route did not expect', () => {
  it('answers 503 with Retry-After, not 500, when the store cannot take writes now (a full disk, a read-only file, a lost connection)', () => {
    // As the SQLite store reports a batch SQLite rolled back, and as pg reports its errors.
    const full = new Error('the database rolled back a batch of writes: SqliteError: database or disk is full', { cause: new BetterSqlite3.SqliteError('database or disk is full', 'SQLITE_FULL') });
    const readonly = new BetterSqlite3.SqliteError('attempt to write a readonly database', 'SQLITE_READONLY_DBMOVED');
    const pgDiskFull = Object.assign(new Error('could not extend file'), { code: '53100' });
    const pgGone = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    // pg's own, with no code: a connection cut mid-query, a query given up on (query_timeout).
    const pgCut = new Error('Connection terminated unexpectedly');
    const pgTimedOut = new Error('Query read timeout');
    for (const error of [full, readonly, pgDiskFull, pgGone, pgCut, pgTimedOut]) {
      const relayError = toRelayError(error as FastifyError);
      expect(relayError.statusCode, error.message).toBe(503);
      expect(relayError.toBody().error.code).toBe('unavailable');
      expect(relayError.headers).toEqual({ 'retry-after': '5' });
    }
  });

  it('still answers 500 to a fault of its own', () => {
    const relayError = toRelayError(Object.assign(new TypeError('x is undefined'), { code: 'ERR_X' }) as unknown as FastifyError);
    expect(relayError.statusCode).toBe(500);
    expect(toRelayError(new BetterSqlite3.SqliteError('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_UNIQUE') as unknown as FastifyError).statusCode).toBe(500);
  });
});
