/**
 * The relay's log destination: stdout, in batches. Also what the benchmark's bare baseline logs
 * through (bench/bare-server.mjs), so both pay for their log lines alike.
 */
import { destination, type DestinationStream } from 'pino';

/** How long a log line may wait to be written with the next ones. */
const LOG_FLUSH_MS = 100;

/**
 * Log lines go out in batches: 8 KB, or whatever came within LOG_FLUSH_MS. A write per line
 * (a system call, or a hand-off to libuv's threads) was the largest single cost of a callback
 * under load, about a tenth of the CPU. pino writes what is left synchronously on exit, also after
 * an uncaught exception; only a SIGKILL can lose the last LOG_FLUSH_MS of lines (never a payment:
 * the store is durable).
 */
export function batchedStdout(): DestinationStream {
  // Buffers, not text: with text, sonic-boom measures the whole batch so far (`Buffer.byteLength`
  // of a string grown line by line, flattened anew each time) at every line written, about 4 % of
  // the relay's CPU under load; with buffers it adds up lengths.
  const stream = destination({ dest: 1, sync: false, minLength: 8 * 1024, contentMode: 'buffer' });
  let waiting = false;
  setInterval(() => {
    if (!waiting) return;
    waiting = false;
    stream.flush();
  }, LOG_FLUSH_MS).unref();
  return {
    write(line: string) {
      waiting = true;
      // (sonic-boom's types know only its text mode.)
      stream.write(Buffer.from(line) as unknown as string);
    },
  };
}
