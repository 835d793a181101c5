/**
 * The scale-out store: PostgreSQL (`DATABASE_URL`), through the same Kysely queries as SQLite,
 * with row locks for updates so several relay instances can change one payment safely.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyPaymentStore, type Database } from './kysely-store.js';

const DEFAULT_MAX_CONNECTIONS = 10;

export interface PostgresOptions {
  /** A schema to use instead of `public` (tests give each run its own). */
  schema?: string;
  maxConnections?: number;
}

/** A pg pool config for `url`, confined to `schema` when given. */
export function poolConfig(url: string, options: PostgresOptions = {}): pg.PoolConfig {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`not a schema name: ${options.schema}`);
  return {
    connectionString: url,
    max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
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
  const pool = new pg.Pool(poolConfig(url, options));
  // An idle client's error (the server restarted) must not crash the relay; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor a checked-out one's: a connection cut mid-query (the host or the network failed) fails
  // that query, which its caller hears; pg also emits it on the client, where nobody listens.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const connections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const store = new KyselyPaymentStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), true, Math.max(1, Math.floor(connections / 2)));
  await store.init();
  return store;
}
