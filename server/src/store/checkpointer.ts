/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever commit
 * crosses the threshold, on the relay's one connection: it copies the WAL's pages into the
 * database file and fsyncs both, which stalled the relay for tens of milliseconds at a time under
 * load (callback → event p99 20–24 ms with it, 14–16 ms without, bench/RESULTS.md). Here a worker
 * thread with its own connection runs a PASSIVE checkpoint every CHECK_EVERY_MS: it never blocks
 * the relay's reads or writes, and copies only what no open read still needs. The relay's own
 * automatic checkpoint stays as a safety net at a much larger WAL (FALLBACK_PAGES), and takes over
 * at the usual size if the worker fails.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

const CHECK_EVERY_MS = 100;
/** The relay's own automatic checkpoint while the worker runs (pages; SQLite's default is 1,000). */
export const FALLBACK_PAGES = 20_000;
const SQLITE_DEFAULT_PAGES = 1_000;

// Plain CommonJS, run with `eval`: the same code whether the relay runs from sources (tests) or
// from its build.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
// A checkpoint reads the WAL and writes the database file: it needs next to no page cache.
db.pragma('cache_size = -256');
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)');
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** A last checkpoint, then the worker's connection closes. */
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, relayConnection: BetterSqlite3.Database): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { path, driver, everyMs: CHECK_EVERY_MS } });
  // The event loop does not wait for it: closing the store stops it.
  worker.unref();
  relayConnection.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  let running = true;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('error', () => {
    // Back to SQLite's own checkpoints on the relay's connection.
    running = false;
    if (relayConnection.open) relayConnection.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  });
  return {
    async stop() {
      // Held until it is done: the process must not end in the middle of the last checkpoint.
      worker.ref();
      if (running) worker.postMessage('stop');
      running = false;
      await exited;
    },
  };
}
