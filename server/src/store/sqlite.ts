/**
 * The embedded default store: one SQLite file in WAL mode, created on start.
 *
 * Durability is SQLite's `synchronous = FULL` made cheaper, not weaker: a write the store reports
 * done is on disk, as with FULL, but the WAL is flushed by an fsync the store runs itself, off the
 * event loop and shared by every transaction that committed before it began (group commit).
 * With FULL, each commit blocked the whole relay for its own fsync (about 0.3 ms here), several
 * times per payment. Reads never wait for a flush.
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
 * Group commit for the WAL file. `committed()` counts a commit that wrote something; `flushed()`
 * resolves once an fsync that began after that commit has finished. One fsync at a time: callers
 * arriving while one runs share the next.
 */
export class WalFlusher {
  private written = 0;
  private durable = 0;
  private flushing: Promise<void> | undefined;
  private fsyncs = 0;

  constructor(private readonly fd: number) {}

  /** Whether some commit is not flushed yet. */
  get pending(): boolean {
    return this.durable < this.written;
  }

  /** How many fsyncs have run (each covers every commit before it). */
  get flushes(): number {
    return this.fsyncs;
  }

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
    const upTo = this.written;
    this.fsyncs++;
    await fsyncAsync(this.fd);
    this.durable = Math.max(this.durable, upTo);
  }
}

/**
 * A connection that counts commits which wrote rows (a transaction's, or a write outside any
 * transaction) for the WalFlusher. It does not wait for the flush itself: it holds Kysely's one
 * SQLite connection, and every other query would wait behind the fsync.
 */
class DurableConnection implements DatabaseConnection {
  private transactionWrote = false;

  constructor(
    private readonly inner: DatabaseConnection,
    private readonly database: BetterSqlite3.Database,
    private readonly flusher: WalFlusher,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Counted here, where Kysely runs one query at a time on the connection.
    const wasInTransaction = this.database.inTransaction;
    const result = await this.inner.executeQuery<R>(query);
    const inTransaction = this.database.inTransaction;
    const wrote = result.numAffectedRows !== undefined && result.numAffectedRows > 0n;
    let commit = false;
    if (inTransaction) {
      if (wrote) this.transactionWrote = true;
    } else if (wasInTransaction) {
      // The transaction ended: committed, unless it was rolled back.
      commit = this.transactionWrote && /^\s*commit/i.test(query.sql);
      this.transactionWrote = false;
    } else {
      commit = wrote;
    }
    if (commit) this.flusher.committed();
    return result;
  }

  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class DurableSqliteDriver extends SqliteDriver implements Driver {
  private connection: DurableConnection | undefined;

  constructor(
    config: ConstructorParameters<typeof SqliteDriver>[0],
    private readonly database: BetterSqlite3.Database,
    private readonly flusher: WalFlusher,
    private readonly checkpointer: Checkpointer,
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    this.connection ??= new DurableConnection(await super.acquireConnection(), this.database, this.flusher);
    return this.connection;
  }

  override async destroy(): Promise<void> {
    // Closing the database checkpoints the WAL; a commit still waiting for its flush gets it
    // first, so no caller is left with an fsync on a closed file.
    await this.flusher.flushed();
    await this.checkpointer.stop();
    await super.destroy();
    this.flusher.close();
  }
}

class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly flusher: WalFlusher,
    private readonly checkpointer: Checkpointer,
  ) {
    super({ database });
  }

  override createDriver(): Driver {
    return new DurableSqliteDriver({ database: withStatementCache(this.database) }, this.database, this.flusher, this.checkpointer);
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
  const flusher = new WalFlusher(walFd);
  // Checkpoints run in a worker thread, not inside the relay's commits (checkpointer.ts).
  const checkpointer = startCheckpointer(resolve(path), database);
  const store = new KyselyPaymentStore(new Kysely<Database>({ dialect: new DurableSqliteDialect(database, flusher, checkpointer) }), false);
  await store.init();
  return durableCalls(store, flusher);
}

/**
 * The store whose calls resolve only once every commit made before they returned is flushed, after
 * Kysely has let go of the connection: a write is durable when it is reported done, and a read
 * never hands out a commit that is not durable yet (it waits for the flush in progress). With
 * nothing pending, a call does not wait at all.
 */
function durableCalls(store: KyselyPaymentStore, flusher: WalFlusher): KyselyPaymentStore {
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
          const result = await method.apply(target, args);
          if (flusher.pending) await flusher.flushed();
          return result;
        };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}
