/**
 * PostgreSQL for tests: the server `scripts/ensure-postgres.mjs` installs or starts (CI and this
 * machine: 127.0.0.1:5432, trust auth, database `test`). Each test gets a schema of its own.
 * Where PostgreSQL cannot be had, the tests that need it are skipped with a loud reason, except
 * under CI, where that is a failure.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env['STK_PAY_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

let probe: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers; otherwise why not. */
export function postgresUnavailable(): Promise<string | undefined> {
  probe ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${TEST_DATABASE_URL} cannot be reached (${error instanceof Error ? error.message : String(error)}); run node scripts/ensure-postgres.mjs`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return probe;
}

/** Throws under CI, warns otherwise; returns whether PostgreSQL tests should run. */
export async function requirePostgres(): Promise<boolean> {
  const reason = await postgresUnavailable();
  if (reason === undefined) return true;
  if (process.env['CI']) throw new Error(reason);
  console.warn(`\n*** SKIPPING PostgreSQL tests: ${reason}\n`);
  return false;
}

export function freshSchema(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** An empty schema, for a relay process to migrate into (through `search_path` in its URL). */
export async function createSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}
