import type { Migration } from 'kysely/migration';
/** `bigint` for PostgreSQL (millisecond times overflow int4); SQLite's integer is 64-bit already. */
export declare function migrations(bigint: 'bigint' | 'integer'): Record<string, Migration>;
