/**
 * Queries compiled once and run with new values. Kysely builds a query's operation tree and
 * compiles it to SQL at every call: for the dozen statements of creating a payment, about a sixth
 * of the relay's CPU under load (bench/RESULTS.md). The store's hot queries have fixed shapes, so
 * each is built once with a named slot where each value goes, and every run sends the same SQL
 * with the values put in the slots' places.
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';

/** The store's Kysely, or a transaction of it. */
interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** Where a run's value goes. Kysely takes it for a value like any other, and binds it. */
class Slot {
  constructor(readonly name: string) {}
}

export class Precompiled<P extends object, O> {
  private compiled: CompiledQuery<O> | undefined;
  /** For each bound parameter, the slot it comes from, or the constant the query was built with. */
  private parameters: ({ slot: keyof P } | { value: unknown })[] = [];

  /**
   * `build` receives the run's values as slots: it must pass them to Kysely as values only (never
   * look at them or compute with them), and build the same query whatever they are.
   */
  constructor(private readonly build: (values: P) => Compilable<O>) {}

  /** Runs the query on `db` (the store's Kysely, or a transaction of it) with `values`. */
  run(db: QueryRunner, values: P): Promise<QueryResult<O>> {
    const compiled = (this.compiled ??= this.compile());
    const parameters = this.parameters.map((parameter) => ('slot' in parameter ? values[parameter.slot] : parameter.value));
    return db.executeQuery<O>({ ...compiled, parameters });
  }

  private compile(): CompiledQuery<O> {
    const slots = new Proxy({} as P, {
      get: (_, name) => new Slot(String(name)),
    });
    const compiled = this.build(slots).compile();
    this.parameters = compiled.parameters.map((value) => (value instanceof Slot ? { slot: value.name as keyof P } : { value }));
    return compiled;
  }
}

/**
 * A whole row of slots, one per column, for `insertInto(...).values()` (Kysely reads a row's own
 * keys, and the slots have none). `columns` names every column: the type says so.
 */
export function rowOfSlots<Row extends object>(columns: Record<keyof Row, true>, slots: Row): Row {
  const row = {} as Row;
  for (const column of Object.keys(columns) as (keyof Row)[]) row[column] = slots[column];
  return row;
}
