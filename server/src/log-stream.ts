/**
 * The relay's log destination: stdout, in batches. Also what the benchmark's bare baseline logs
 * through (bench/bare-server.mjs), so both pay for their log lines alike.
 */
import { write, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { DestinationStream } from 'pino';

/** How long a log line may wait to be written with the next ones. */
const LOG_FLUSH_MS = 100;
/** A batch this large is written at once, without waiting for LOG_FLUSH_MS. */
const BATCH_BYTES = 8 * 1024;
/** A full pipe (EAGAIN) is tried again after this long. */
const BUSY_RETRY_MS = 100;
/** The longest the lines left at exit may wait for a full pipe to take them. */
const EXIT_FLUSH_MS = 2_000;

export interface BatchedLog extends DestinationStream {
  /** Writes what is left now (done at exit); bounded: what the output cannot take is dropped. */
  flushSync(): void;
}

/**
 * Log lines go out in batches: 8 KB, or whatever came within LOG_FLUSH_MS. A write per line
 * (a system call, or a hand-off to libuv's threads) was the largest single cost of a callback
 * under load, about a tenth of the CPU. What is left is written synchronously on exit, also after
 * an uncaught exception; only a SIGKILL can lose the last LOG_FLUSH_MS of lines (never a payment:
 * the store is durable).
 *
 * An output that fails (its reader is gone: EPIPE; or any other error) is given up: its lines are
 * dropped from then on, never retried. (pino's own destination, sonic-boom, retried a failed write
 * at exit every 100 ms for ever, on the main thread: a relay whose log reader had gone never
 * exited, not even on a second SIGTERM.) A full pipe is waited for, at exit for EXIT_FLUSH_MS at most.
 */
export function batchedStdout(): BatchedLog {
  return batchedLog(1);
}

/** `batchedStdout` on any file descriptor. */
function batchedLog(fd: number): BatchedLog {
  // Buffers, not text: the batch's size is the sum of the lengths, never measured again.
  let batch: Buffer[] = [];
  let batchBytes = 0;
  // A write handed to libuv and not yet done; `busy`: one waiting to be tried again (EAGAIN).
  let writing = false;
  let busy: Buffer | undefined;
  let givenUp = false;

  const giveUp = () => {
    givenUp = true;
    batch = [];
    batchBytes = 0;
    busy = undefined;
  };
  const isBusy = (error: NodeJS.ErrnoException) => error.code === 'EAGAIN' || error.code === 'EBUSY';
  const take = (): Buffer => {
    const chunk = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    return chunk;
  };
  const send = (chunk: Buffer) => {
    writing = true;
    write(fd, chunk, (error, written) => {
      writing = false;
      if (givenUp) return;
      if (error) {
        if (!isBusy(error)) return giveUp();
        busy = chunk;
        setTimeout(() => {
          if (busy !== chunk) return; // written by flushSync meanwhile
          busy = undefined;
          send(chunk);
        }, BUSY_RETRY_MS).unref();
        return;
      }
      if (written < chunk.length) return send(chunk.subarray(written));
      if (batchBytes >= BATCH_BYTES) send(take());
    });
  };
  const flush = () => {
    if (givenUp || writing || busy || batchBytes === 0) return;
    send(take());
  };

  const flushSync = () => {
    if (givenUp) return;
    // A write handed to libuv is left to it (as sonic-boom does); one waiting to be retried goes first.
    let chunk = Buffer.concat(busy ? [busy, ...batch] : batch);
    busy = undefined;
    batch = [];
    batchBytes = 0;
    const deadline = performance.now() + EXIT_FLUSH_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (chunk.length > 0) {
      try {
        chunk = chunk.subarray(writeSync(fd, chunk));
      } catch (error) {
        if (!isBusy(error as NodeJS.ErrnoException) || performance.now() >= deadline) return giveUp();
        Atomics.wait(pause, 0, 0, 10);
      }
    }
  };

  setInterval(flush, LOG_FLUSH_MS).unref();
  process.on('exit', flushSync);

  return {
    write(line: string) {
      if (givenUp) return;
      const buffer = Buffer.from(line);
      batch.push(buffer);
      batchBytes += buffer.length;
      if (batchBytes >= BATCH_BYTES) flush();
    },
    flushSync,
  };
}
