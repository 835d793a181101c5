/**
 * The scale-out store: PostgreSQL (`DATABASE_URL`), through the same Kysely queries as SQLite,
 * with row locks for updates so several relay instances can change one payment safely.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyPaymentStore, type Database } from './kysely-store.js';

const DEFAULT_MAX_CONNECTIONS = 10;
/**
 * How long one query may take before the relay gives up on it, and on its connection. A database
 * that hangs, or fails over without resetting the connections open to the old host, otherwise
 * leaves a query waiting for good: a payment request held past any customer's patience, the
 * webhook worker stopped silently, a shutdown that never ends. The pool drops the connection and
 * the next query opens a new one.
 */
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

export interface PostgresOptions {
  /** A schema to use instead of `public` (tests give each run its own). */
  schema?: string;
  maxConnections?: number;
  /** Per query, client side (default 10 s); 0: none (migrations). */
  queryTimeoutMs?: number;
}

/** A pg pool config for `url`, confined to `schema` when given. */
export function poolConfig(url: string, options: PostgresOptions = {}): pg.PoolConfig {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`not a schema name: ${options.schema}`);
  const queryTimeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return {
    connectionString: url,
    max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...(queryTimeout > 0 ? { query_timeout: queryTimeout } : {}),
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  };
}

export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<KyselyPaymentStore> {
  if (options.schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`create schema if not exists ${options.schema}`);
    } finally {
      await admin.end();
    }
  }
  // Migrations first, on a connection without the query deadline: an index built on a large
  // table, or the wait for another instance's migration, can take longer.
  const migrating = new KyselyPaymentStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool(poolConfig(url, { ...options, maxConnections: 1, queryTimeoutMs: 0 })) }) }), true, 1);
  try {
    await migrating.init();
  } finally {
    await migrating.close();
  }
  const pool = new pg.Pool(poolConfig(url, options));
  // An idle client's error (the server restarted) must not crash the relay; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor a checked-out one's: a connection cut mid-query (the host or the network failed) fails
  // that query, which its caller hears; pg also emits it on the client, where nobody listens.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    // A query given up on (query_timeout) leaves its connection open and, on a host that hangs,
    // useless: end it, so the pool drops it when it comes back and the next query opens another.
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      if (result instanceof Promise) {
        result.catch((error: unknown) => {
          if (error instanceof Error && error.message.startsWith('Query read timeout')) client.end().catch(() => undefined);
        });
      }
      return result;
    };
  });
  const connections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  // Migrated above: no second pass of the migrator (its lock and its reads) at every start.
  return new KyselyPaymentStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), true, Math.max(1, Math.floor(connections / 2)));
}
