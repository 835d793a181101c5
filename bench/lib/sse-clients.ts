/**
 * Many server-sent event streams held open from one process, on raw HTTP/1.1 sockets (one
 * connection each, as browsers on different phones would have), recording when each stream's
 * final event arrives.
 */
import { Agent, request, type ClientRequest } from 'node:http';

/** Milliseconds on the clock the Daraja double's `answer()` uses. */
export const clock = (): number => performance.timeOrigin + performance.now();

export interface Stream {
  /** Resolves when the stream's first event has arrived. */
  readonly opened: Promise<void>;
  /** When an event whose data says `"status":"succeeded"` arrived, or undefined. */
  finishedAt: number | undefined;
  /** Whether the stream ended (the server closed it, or it failed) before `close()`. */
  ended: boolean;
  close(): void;
}

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

export function openStream(url: string): Stream {
  let resolveOpened!: () => void;
  let rejectOpened!: (error: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  let buffer = '';
  let events = 0;
  let closing = false;
  const stream: Stream = {
    opened,
    finishedAt: undefined,
    ended: false,
    close: () => {
      closing = true;
      req.destroy();
    },
  };
  const ended = () => {
    if (!closing) stream.ended = true;
  };
  const req: ClientRequest = request(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
    if (response.statusCode !== 200) {
      rejectOpened(new Error(`GET ${url} answered ${response.statusCode}`));
      response.resume();
      return;
    }
    response.once('close', ended);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const at = clock();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!/^data:/m.test(block)) continue; // heartbeat comment
        events++;
        if (events === 1) resolveOpened();
        if (stream.finishedAt === undefined && block.includes('"status":"succeeded"')) stream.finishedAt = at;
      }
    });
  });
  req.on('error', (error) => {
    ended();
    rejectOpened(error);
  });
  req.end();
  return stream;
}

/** Opens `urls.length` streams, `atOnce` connection attempts at a time, and waits for each first event. */
export async function openStreams(urls: string[], atOnce = 200): Promise<Stream[]> {
  const streams: Stream[] = [];
  for (let i = 0; i < urls.length; i += atOnce) {
    const batch = urls.slice(i, i + atOnce).map((url) => openStream(url));
    await Promise.all(batch.map((stream) => stream.opened));
    streams.push(...batch);
  }
  return streams;
}

/**
 * Calls `fire(i)` for i = 0 … count-1 at a steady `perSecond`, without waiting for one to finish
 * before the next is due; resolves when every call has settled.
 */
export async function atSteadyRate(count: number, perSecond: number, fire: (i: number) => Promise<unknown>): Promise<void> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  let next = 0;
  while (next < count) {
    const due = Math.min(count, Math.floor(((performance.now() - start) * perSecond) / 1000) + 1);
    while (next < due) pending.push(fire(next++));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
}
