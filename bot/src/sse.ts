/**
 * A small server-sent events reader over fetch: enough for the relay's payment stream (`id`,
 * `event`, `data`, comments as heartbeats), with `Last-Event-ID` and an idle timeout, so a stream
 * that went silent (a dead connection nobody closed) is noticed and reopened by the caller.
 */

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** The server answered, but not with a stream (e.g. 404 for an unknown payment, or a proxy's error page). */
export class SseResponseError extends Error {
  override name = 'SseResponseError';
  constructor(
    readonly status: number,
    /** The answer's body as JSON, or undefined when it was not JSON (an HTML error page). */
    readonly body: unknown,
  ) {
    super(`the event stream answered HTTP ${status}`);
  }
}

export interface SseOptions {
  lastEventId?: string;
  signal?: AbortSignal;
  /** Gives up on a stream that sends nothing (not even a heartbeat comment) for this long. */
  idleMs: number;
}

/** Yields each event until the server closes the stream; throws on idle timeout or network error. */
export async function* readEventStream(url: string, options: SseOptions): AsyncGenerator<SseEvent> {
  const controller = new AbortController();
  const abort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abort, { once: true });
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const stillAlive = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(new Error(`no data on the event stream for ${options.idleMs} ms`)), options.idleMs);
  };
  try {
    stillAlive();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}) },
      signal: controller.signal,
    });
    // 204: the stream is over for good (resumed after its last event); EventSource stops there too.
    if (response.status === 204) return;
    if (!response.ok || !response.body) {
      // Who answered matters: the relay's own JSON error, or a page from something in between.
      throw new SseResponseError(response.status, await response.json().catch(() => undefined));
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      stillAlive();
      buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
  } catch (error) {
    // The caller's own abort is a normal end, not a failure.
    if (options.signal?.aborted) return;
    throw controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : error;
  } finally {
    clearTimeout(idleTimer);
    options.signal?.removeEventListener('abort', abort);
    controller.abort();
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length > 0 ? { id, event, data: data.join('\n') } : undefined;
}
