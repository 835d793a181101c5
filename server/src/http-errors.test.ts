import { Writable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import type { FastifyError } from 'fastify';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { toRelayError } from './http-errors.js';
import { DEMO_PUBLISHABLE_KEY } from './merchants.js';
import { freshSchema, requirePostgres, TEST_DATABASE_URL } from './testing/postgres.js';
import { startRelay } from './testing/start-relay.js';

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

  it('answers 503 with Retry-After, not 500, when PostgreSQL refuses the role, has lost the database or a privilege, or is out of connections', () => {
    // SQLSTATEs of classes 08, 28, 3D, 53 and 57 (and 42501), as pg reports them; and the network errors of a database host gone.
    const codes = ['28000', '28P01', '3D000', '42501', '53000', '53300', '57000', '57014', '57P04', '57P05', '08P01', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];
    for (const code of codes) {
      const relayError = toRelayError(Object.assign(new Error(`refused (${code})`), { code }) as unknown as FastifyError);
      expect(relayError.statusCode, code).toBe(503);
      expect(relayError.headers).toEqual({ 'retry-after': '5' });
    }
  });

  it('still answers 500 to a fault of its own', () => {
    const relayError = toRelayError(Object.assign(new TypeError('x is undefined'), { code: 'ERR_X' }) as unknown as FastifyError);
    expect(relayError.statusCode).toBe(500);
    expect(toRelayError(new BetterSqlite3.SqliteError('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_UNIQUE') as unknown as FastifyError).statusCode).toBe(500);
    // A query of ours past a configured limit, a syntax error, a missing table: not the store's state.
    for (const code of ['53400', '42601', '42P01', '280001']) expect(toRelayError(Object.assign(new Error(code), { code }) as unknown as FastifyError).statusCode, code).toBe(500);
  });
});

const pgReady = await requirePostgres();

describe.skipIf(!pgReady)('a PostgreSQL that refuses the relay (its role, its database, a privilege)', () => {
  const DATABASE = new URL(TEST_DATABASE_URL).pathname.slice(1);

  async function asAdmin(sql: string, url = TEST_DATABASE_URL): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** A relay on `url`, its log kept; `refuse` makes PostgreSQL refuse it after a first payment. */
  async function refusedRelay(url: string, schema: string | undefined, refuse: () => Promise<void>, refusal: RegExp): Promise<void> {
    const lines: string[] = [];
    const logStream = new Writable({ write: (chunk, _encoding, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const relay = await startRelay({ databaseUrl: url, ...(schema ? { postgresSchema: schema } : {}), logger: { level: 'info' }, logStream, reconcileTickMs: 60_000, webhookTickMs: 60_000, sandboxDelayMs: 60_000 });
    try {
      const pay = () => relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': DEMO_PUBLISHABLE_KEY }, payload: { amount: 250, phone: '0712000061' } });
      const first = await pay();
      expect(first.statusCode).toBe(201);
      const id = (first.json() as { id: string }).id;
      await relay.app.payments.settle();
      await refuse();
      const secret = relay.app.merchants.byId('demo')!.secretKeys[0]!;
      // A connection the refusal cut may answer first (already 503): go on until PostgreSQL's own refusal is logged.
      for (let attempt = 0; attempt < 5 && !lines.some((line) => refusal.test(line)); attempt++) {
        for (const answer of [await pay(), await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: { authorization: `Bearer ${secret}` } })]) {
          expect(answer.statusCode, answer.body).toBe(503);
          expect(answer.json()).toMatchObject({ error: { code: 'unavailable' } });
          expect(answer.headers['retry-after']).toBe('5');
        }
      }
      const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string; reason?: string; err?: unknown });
      expect(logged.filter((line) => line.msg === 'request answered 503: unavailable for now' && refusal.test(line.reason ?? '')).length).toBeGreaterThan(0);
      expect(logged.filter((line) => line.msg === 'request failed')).toEqual([]);
    } finally {
      await relay.close();
    }
  }

  /**
   * A relay connected as a role of its own, owning its own schema; `refuse(role, schema)` then takes
   * something from that role. The role, its schema and its sessions are gone afterwards.
   */
  async function refusedOwnRole(refuse: (role: string, schema: string) => Promise<void>, refusal: RegExp): Promise<void> {
    const role = freshSchema();
    const schema = freshSchema();
    await asAdmin(`create role ${role} login; grant create on database ${DATABASE} to ${role}; create schema ${schema} authorization ${role}`);
    try {
      const url = new URL(TEST_DATABASE_URL);
      url.username = role;
      await refusedRelay(url.href, schema, () => refuse(role, schema), refusal);
    } finally {
      await asAdmin(`select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = '${role}'`);
      await asAdmin(`drop schema if exists ${schema} cascade; drop owned by ${role}; drop role if exists ${role}`);
    }
  }

  it('answers 503 with Retry-After, not 500, and logs a warning without a stack, when a privilege of the role is revoked (42501)', async () => {
    await refusedOwnRole((role, schema) => asAdmin(`revoke all on all tables in schema ${schema} from ${role}`), /permission denied/);
  }, 30_000);

  it('answers 503 with Retry-After, not 500, and logs a warning without a stack, when the role may no longer log in (28000)', async () => {
    await refusedOwnRole((role) => asAdmin(`alter role ${role} nologin; select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = '${role}'`), /not permitted to log in/);
  }, 30_000);

  it('answers 503 with Retry-After, not 500, and logs a warning without a stack, when its database is gone (3D000)', async () => {
    const database = freshSchema();
    await asAdmin(`create database ${database}`);
    try {
      const url = new URL(TEST_DATABASE_URL);
      url.pathname = `/${database}`;
      await refusedRelay(url.href, undefined, () => asAdmin(`drop database ${database} with (force)`), /database "\w+" does not exist/);
    } finally {
      await asAdmin(`drop database if exists ${database} with (force)`);
    }
  }, 30_000);
});
