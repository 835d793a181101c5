/**
 * The embedded default store: one SQLite file in WAL mode, created on start.
 *
 * Durability is SQLite's `synchronous = FULL` made cheaper, not weaker: a write the store reports
 * done is on disk, as with FULL, but the relay's writes go into one open transaction (a batch:
 * each of the store's own transactions is a savepoint in it), and the batch is committed and the
 * WAL fsynced by the store itself, the fsync off the event loop (group commit). Every write made
 * while one fsync runs rides the next commit. With FULL, each commit blocked the whole relay for
 * its own fsync (about 0.3 ms here), and each commit wrote its changed pages to the WAL: three
 * times per payment, the same index pages over and over.
 */
import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, SqliteDriver, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type SqliteDatabase } from 'kysely';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { KyselyPaymentStore, type Database } from './kysely-store.js';

const fsyncAsync = promisify(fsync);

/** Statements kept prepared, by SQL text. The store's queries are a few dozen fixed shapes. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The database as Kysely's SQLite driver sees it, with prepared statements reused: the driver
 * prepares every query afresh, which was the largest single cost of creating a payment (about a
 * seventh of the relay's CPU under load). Statements are reusable once run (better-sqlite3 resets
 * them), and the driver runs one query at a time on this one connection.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Group commit for the WAL file. `committed()` counts a write; `flushed()` resolves once an fsync
 * that began after that write was committed has finished. One fsync at a time: callers arriving
 * while one runs share the next. `beforeFsync` commits the open batch, if any (`WriteBatch`).
 */
export class WalFlusher {
  private written = 0;
  private durable = 0;
  private flushing: Promise<void> | undefined;
  private fsyncs = 0;

  constructor(
    private readonly fd: number,
    private readonly beforeFsync: { settled(): Promise<void>; commit(): boolean } = { settled: async () => {}, commit: () => true },
  ) {}

  /** Whether some write is not on disk yet. */
  get pending(): boolean {
    return this.durable < this.written;
  }

  /** How many fsyncs have run (each covers every write committed before it). */
  get flushes(): number {
    return this.fsyncs;
  }

  /** A write the next flush must cover (in the open batch, or committed already). */
  committed(): void {
    this.written++;
  }

  async flushed(): Promise<void> {
    const target = this.written;
    while (this.durable < target) {
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
      await this.flushing;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private async flush(): Promise<void> {
    // The commit and the count are taken together, with nothing in between: every write counted
    // so far is in the commit. (A transaction may begin between `settled` and here: wait again.)
    let upTo: number;
    do {
      await this.beforeFsync.settled();
      upTo = this.written;
    } while (!this.beforeFsync.commit());
    this.fsyncs++;
    await fsyncAsync(this.fd);
    this.durable = Math.max(this.durable, upTo);
  }
}

/** The savepoint each of the store's transactions is, inside the batch. */
const SAVEPOINT = 'store_transaction';

/**
 * The batch: one transaction that every write joins, committed by the flusher just before its
 * fsync. Each of the store's own transactions is a savepoint in it, so one that fails is rolled
 * back alone. Kysely runs one query or one transaction at a time on this one connection, and the
 * commit waits until no transaction of the store is in progress (`settled`).
 *
 * Writes join the batch and reads see them at once, but nothing leaves the store before the batch
 * is on disk: every store call waits for the flush when anything is pending (`durableCalls`). Some
 * errors (an I/O error, a full disk) make SQLite roll back the whole transaction, other calls'
 * writes with it; then every store call in progress at that moment fails (`lossCount`), whether
 * or not its own write was in it, and none reports done what is not on disk.
 */
export class WriteBatch {
  private open = false;
  private inTransaction = false;
  private transactionEnded: { promise: Promise<void>; resolve: () => void } | undefined;
  /** How many batches SQLite has rolled back; a store call fails when this moves under it. */
  lossCount = 0;
  lastLoss: unknown;

  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly statements: SqliteDatabase,
    private readonly flusher: WalFlusher,
  ) {}

  /** Before a statement that may write, outside or inside a transaction of the store's. */
  beforeWrite(): void {
    if (!this.open) {
      // IMMEDIATE: the write lock now, so no other process's write can make this batch stale.
      this.run('begin immediate');
      this.open = true;
    }
    this.flusher.committed();
  }

  beginTransaction(): void {
    this.beforeWrite();
    this.run(`savepoint ${SAVEPOINT}`);
    this.inTransaction = true;
  }

  commitTransaction(): void {
    try {
      this.run(`release ${SAVEPOINT}`);
    } finally {
      this.endTransaction();
    }
  }

  rollbackTransaction(): void {
    try {
      if (this.database.inTransaction) {
        this.run(`rollback to ${SAVEPOINT}`);
        this.run(`release ${SAVEPOINT}`);
      }
    } finally {
      this.endTransaction();
      this.checkAfterError(new Error('a transaction was rolled back'));
    }
  }

  /** After a statement failed: did SQLite roll back the whole batch? */
  checkAfterError(error: unknown): void {
    if (this.open && !this.database.inTransaction) this.lost(error);
  }

  /** Resolves when no transaction of the store's is in progress. */
  async settled(): Promise<void> {
    while (this.inTransaction) await (this.transactionEnded ??= withResolvers()).promise;
  }

  /**
   * Commits the batch, if one is open, unless a transaction of the store's is in progress (then
   * it says false: wait until `settled` and try again). A commit SQLite refuses loses the batch.
   */
  commit(): boolean {
    if (this.inTransaction) return false;
    if (!this.open) return true;
    try {
      this.run('commit');
      this.open = false;
    } catch (error) {
      this.lost(error);
      try {
        if (this.database.inTransaction) this.run('rollback');
      } catch {
        // The calls in progress fail either way. If SQLite still holds the transaction, the next
        // writes join it and the next flush tries its commit again.
      }
      this.open = this.database.inTransaction;
    }
    return true;
  }

  private lost(error: unknown): void {
    this.open = false;
    this.lossCount++;
    this.lastLoss = error;
  }

  private endTransaction(): void {
    this.inTransaction = false;
    const ended = this.transactionEnded;
    this.transactionEnded = undefined;
    ended?.resolve();
  }

  private run(statement: string): void {
    this.statements.prepare(statement).run([]);
  }
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A connection whose statements that may write join the batch first. */
class DurableConnection implements DatabaseConnection {
  constructor(
    private readonly inner: DatabaseConnection,
    private readonly statements: SqliteDatabase,
    private readonly batch: WriteBatch,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // SQLite says whether a statement can write (prepared once: the inner connection reuses it).
    if (!(this.statements.prepare(query.sql) as BetterSqlite3.Statement).readonly) this.batch.beforeWrite();
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (error) {
      this.batch.checkAfterError(error);
      throw error;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class DurableSqliteDriver extends SqliteDriver implements Driver {
  private connection: DurableConnection | undefined;

  constructor(
    private readonly statements: SqliteDatabase,
    private readonly batch: WriteBatch,
    private readonly flusher: WalFlusher,
    private readonly checkpointer: Checkpointer,
  ) {
    super({ database: statements });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    this.connection ??= new DurableConnection(await super.acquireConnection(), this.statements, this.batch);
    return this.connection;
  }

  // The store's transactions are savepoints in the batch (Kysely runs them on this one connection).
  override async beginTransaction(): Promise<void> {
    this.batch.beginTransaction();
  }

  override async commitTransaction(): Promise<void> {
    this.batch.commitTransaction();
  }

  override async rollbackTransaction(): Promise<void> {
    this.batch.rollbackTransaction();
  }

  override async destroy(): Promise<void> {
    // Closing the database checkpoints the WAL; the batch is committed and flushed first, so no
    // caller is left with an fsync on a closed file.
    await this.flusher.flushed();
    await this.checkpointer.stop();
    await super.destroy();
    this.flusher.close();
  }
}

/** SQLite's dialect (its query compiler, adapter, introspector) with the durable driver. */
class DurableSqliteDialect extends SqliteDialect {
  constructor(
    statements: SqliteDatabase,
    private readonly driver: DurableSqliteDriver,
  ) {
    super({ database: statements });
  }

  override createDriver(): Driver {
    return this.driver;
  }
}

export async function openSqliteStore(path: string): Promise<KyselyPaymentStore> {
  if (path === ':memory:') {
    const database = new BetterSqlite3(path);
    const store = new KyselyPaymentStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }), false);
    await store.init();
    return store;
  }
  mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  // NORMAL: commits do not fsync; the WalFlusher does, for each write the store reports done.
  // SQLite still syncs the WAL before each checkpoint and the database file after it (the
  // checkpoints run in a worker thread: checkpointer.ts).
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  // The WAL file exists from the first read on; make its directory entry durable once.
  database.prepare('select 1').get();
  const walFd = openSync(`${resolve(path)}-wal`, 'a');
  const directory = openSync(dirname(resolve(path)), 'r');
  fsyncSync(directory);
  closeSync(directory);
  const statements = withStatementCache(database);
  // Each flush commits the batch, then fsyncs the WAL.
  const flusher: WalFlusher = new WalFlusher(walFd, { settled: () => batch.settled(), commit: () => batch.commit() });
  const batch = new WriteBatch(database, statements, flusher);
  // Checkpoints run in a worker thread, not inside the relay's commits (checkpointer.ts).
  const checkpointer = startCheckpointer(resolve(path), database);
  const driver = new DurableSqliteDriver(statements, batch, flusher, checkpointer);
  const store = new KyselyPaymentStore(new Kysely<Database>({ dialect: new DurableSqliteDialect(statements, driver) }), false);
  await store.init();
  return durableCalls(store, flusher, batch);
}

/**
 * The store whose calls resolve only once every write made before they returned is committed and
 * flushed, after Kysely has let go of the connection: a write is durable when it is reported done,
 * and a read never hands out a write that is not durable yet (it waits for the flush). With
 * nothing pending, a call does not wait at all. A call in progress when SQLite rolled back a batch
 * fails: what it wrote or read may be gone.
 */
function durableCalls(store: KyselyPaymentStore, flusher: WalFlusher, batch: WriteBatch): KyselyPaymentStore {
  // One wrapper per method, made at its first call, not one per call.
  const wrappers = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'constructor') return value;
      let wrapper = wrappers.get(property);
      if (wrapper === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        wrapper = async (...args: unknown[]) => {
          const losses = batch.lossCount;
          const result = await method.apply(target, args);
          if (flusher.pending) await flusher.flushed();
          if (batch.lossCount !== losses) throw new Error(`the database rolled back a batch of writes: ${String(batch.lastLoss)}`, { cause: batch.lastLoss });
          return result;
        };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}
