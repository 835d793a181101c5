import pg from 'pg';
import { KyselyPaymentStore } from './kysely-store.js';
export interface PostgresOptions {
    /** A schema to use instead of `public` (tests give each run its own). */
    schema?: string;
    maxConnections?: number;
}
/** A pg pool config for `url`, confined to `schema` when given. */
export declare function poolConfig(url: string, options?: PostgresOptions): pg.PoolConfig;
export declare function openPostgresStore(url: string, options?: PostgresOptions): Promise<KyselyPaymentStore>;
