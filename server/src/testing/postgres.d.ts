export declare const TEST_DATABASE_URL: string;
/** Undefined when PostgreSQL answers; otherwise why not. */
export declare function postgresUnavailable(): Promise<string | undefined>;
/** Throws under CI, warns otherwise; returns whether PostgreSQL tests should run. */
export declare function requirePostgres(): Promise<boolean>;
export declare function freshSchema(): string;
export declare function dropSchema(schema: string): Promise<void>;
