/**
 * `GET /v1/payments/:id/events`: the payment's status as server-sent events. The current state at
 * once (or, with `Last-Event-ID`, every event after it), then each change, with the sequence number
 * as the event id; closed after a terminal state. Events come from the store, the bus only wakes
 * the stream, so a stream on any relay instance sees a change committed by any other.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema, isPaymentId, type PaymentStatus } from '../api/schemas.js';
import type { StatusBus } from '../bus/types.js';
import { RelayError } from '../errors.js';
import type { RelayMetrics } from '../metrics.js';
import { isTerminal } from '../payments/state-machine.js';
import type { PaymentEventRecord, PaymentStore } from '../store/types.js';

/** A stream silent this long gets a heartbeat comment, so no proxy closes it as idle (DESIGN: every 15 s). */
const HEARTBEAT_MS = 15_000;
/** How often the heartbeat sweep looks for silent streams, at most. */
const HEARTBEAT_TICK_MS = 25;
/** What a heartbeat is: an SSE comment, which EventSource ignores. */
const HEARTBEAT = ': heartbeat\n\n';

/**
 * Open streams of one payment an instance holds, at most: a customer has one or two (tabs, a
 * reconnection the relay has not yet seen drop on a mobile network); one client opening thousands
 * on one payment id would hold the relay's memory and sockets for as long as it liked.
 */
export const MAX_STREAMS_PER_PAYMENT = 20;

/** Tells EventSource how soon to reconnect after a drop. */
const RECONNECT_MS = 2_000;
/** After a shutdown hand-over: the next instance is up already. */
const HANDOVER_RECONNECT_MS = 250;

/** An open stream, as the relay's shutdown sees it. */
export interface OpenStream {
  /** Tells the client to come back soon (to another instance), then closes. */
  handOver(): Promise<void>;
  /**
   * Sends a heartbeat comment if nothing has been written since `silentSince` (`performance.now()`
   * times), and says whether it was due.
   */
  heartbeat(silentSince: number, now: number): boolean;
}

interface StreamContext {
  store: PaymentStore;
  bus: StatusBus;
  metrics: RelayMetrics;
  streams: Set<OpenStream>;
}

/**
 * One client's stream of one payment. Its state is this one object (thousands are held open at
 * once, so no closure per step): what was sent last, and the flush in progress.
 */
class PaymentStream implements OpenStream {
  private lastSent: number | null;
  /** When something was last written to the client (`performance.now()`). */
  private lastWriteAt = performance.now();
  private first = true;
  private finished = false;
  /** The flush in progress; `again` asks it to read once more when it is done. */
  private flushing: Promise<void> | undefined;
  private again = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly context: StreamContext,
    private readonly paymentId: string,
    private readonly reply: FastifyReply,
    private readonly log: FastifyBaseLogger,
    resumeFrom: number | null,
  ) {
    this.lastSent = resumeFrom;
    this.unsubscribe = context.bus.subscribe(paymentId, this.wake);
    context.streams.add(this);
    context.metrics.openStreams.inc();
    // A client that left while its payment was read is gone already: its close callbacks have run.
    if (reply.sse.isConnected) reply.sse.onClose(this.closed);
    else this.closed();
  }

  /** The bus says the payment has a new event. */
  private readonly wake = (): void => {
    void this.flush();
  };

  private readonly closed = (): void => {
    this.context.metrics.openStreams.dec();
    this.detach();
  };

  /** Sends every event not sent yet, one flush at a time, so events go out in order and never twice. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.sendNew();
      } while (this.again && !this.finished);
      if (this.finished) this.close();
    } catch (error) {
      this.log.warn({ err: error }, 'SSE stream failed; the client will reconnect');
      this.close();
    }
  }

  private async sendNew(): Promise<void> {
    const { sse } = this.reply;
    if (this.finished || !sse.isConnected) return;
    const { store } = this.context;
    const events =
      this.lastSent === null
        ? [await store.latestEvent(this.paymentId)].filter((event): event is PaymentEventRecord => event !== undefined)
        : await store.eventsAfter(this.paymentId, this.lastSent);
    for (const event of events) {
      if (!sse.isConnected) return;
      this.wrote(performance.now());
      await sse.send({ id: String(event.seq), event: 'status', data: event.view, ...(this.first ? { retry: RECONNECT_MS } : {}) });
      this.first = false;
      this.lastSent = event.seq;
      if (isTerminal(event.status as PaymentStatus)) this.finished = true;
    }
  }

  private close(): void {
    this.detach();
    if (this.reply.sse.isConnected) this.reply.sse.close();
  }

  async handOver(): Promise<void> {
    this.detach();
    const { sse } = this.reply;
    if (!sse.isConnected) return;
    await sse.send({ event: 'reconnect', data: 'relay restarting', retry: HANDOVER_RECONNECT_MS }).catch(() => undefined);
    if (sse.isConnected) sse.close();
  }

  heartbeat(silentSince: number, now: number): boolean {
    if (this.lastWriteAt > silentSince) return false;
    this.wrote(now);
    // As @fastify/sse writes its own heartbeats (the stream's headers went out when it opened).
    if (!this.finished && this.reply.sse.isConnected) this.reply.raw.write(HEARTBEAT);
    return true;
  }

  /**
   * The open streams are kept in the order of their last writes (a Set keeps insertion order), so
   * the heartbeat sweep stops at the first stream that is not due.
   */
  private wrote(at: number): void {
    this.lastWriteAt = at;
    const { streams } = this.context;
    if (streams.delete(this)) streams.add(this);
  }

  private detach(): void {
    this.unsubscribe();
    this.context.streams.delete(this);
  }
}

/**
 * One timer sends every open stream's heartbeats: a stream silent for `heartbeatMs` (less one tick)
 * gets one. A timer of its own per stream (@fastify/sse's) took about 300 bytes a stream, and
 * thousands are held open; a stream that has just sent an event needs none. The streams are in the
 * order of their last writes, so a tick looks only at the streams due and the first one not due:
 * it can tick often, and streams opened in a burst get their heartbeats spread as they opened,
 * not all in one tick.
 */
function startHeartbeats(streams: Set<OpenStream>, heartbeatMs: number): NodeJS.Timeout {
  const tickMs = Math.max(1, Math.min(HEARTBEAT_TICK_MS, Math.floor(heartbeatMs / 10)));
  const timer = setInterval(() => {
    const now = performance.now();
    const silentSince = now - (heartbeatMs - tickMs);
    // A stream that gets its heartbeat moves to the end, where the loop meets it again, not due.
    for (const stream of streams) if (!stream.heartbeat(silentSince, now)) break;
  }, tickMs);
  timer.unref();
  return timer;
}

/** What a client that refuses the stream is told (the relay's answer to a 406, http-errors.ts). */
const NOT_ACCEPTABLE = 'This route answers text/event-stream only.';

/**
 * Whether an Accept header admits text/event-stream, as @fastify/sse's gate for an SSE-only route
 * decides (its `clientAcceptsSSE`, which the plugin does not export; RFC 9110): a missing one does; otherwise the most specific range that names it decides
 * (`text/event-stream`, then `text/*`, then any type), and `q=0` refuses. The route negotiates
 * itself (`kind: 'manual'`) so that a refusal gets the relay's error body, not the plugin's 406.
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (!accept || accept === 'text/event-stream' || accept === '*/*') return true;
  let best = 0;
  let admitted = false;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const specificity = range === 'text/event-stream' ? 3 : range === 'text/*' ? 2 : range === '*/*' ? 1 : 0;
    const refused = params.some((param) => /^q=0(\.0*)?$/.test(param));
    if (specificity === 3 && !refused) return true;
    if (specificity > best) [best, admitted] = [specificity, !refused];
  }
  return admitted;
}

export const eventRoutes: FastifyPluginAsyncZod<{ heartbeatMs?: number | undefined }> = async (app, { heartbeatMs = HEARTBEAT_MS }) => {
  const context: StreamContext = { store: app.store, bus: app.bus, metrics: app.metrics, streams: app.sseStreams };
  const heartbeats = startHeartbeats(context.streams, heartbeatMs);
  app.addHook('onClose', async () => clearInterval(heartbeats));
  app.get(
    '/v1/payments/:id/events',
    {
      // 'manual': the route negotiates itself (acceptsEventStream), as 'only' would: a wildcard
      // Accept (curl, fetch) still gets the stream, and a refusal gets the relay's error body.
      sse: { kind: 'manual', serializer: (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)) },
      schema: {
        summary: 'Server-sent events: `event: status`, `id: <seq>`, data = the payment',
        security: [{}],
        params: z.object({ id: z.string() }),
        headers: z.object({ 'last-event-id': z.string().optional() }),
        response: {
          200: {
            description: 'The stream: the payment now, then each change (`event: status`, `id: <seq>`, data = the payment as JSON); it ends after a final status. Resume with `Last-Event-ID`.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          204: z.null().describe('Resumed (`Last-Event-ID`) after the final event: the stream is over, and EventSource stops reconnecting.'),
          400: errorBodySchema.describe('`invalid_request`: the `Accept` header refuses `text/event-stream` (send it, `*/*`, or no `Accept`).'),
          404: errorBodySchema,
          429: errorBodySchema.describe('`too_many_streams`: this relay instance holds 20 open streams of this payment already.'),
        },
      },
    },
    async (request, reply) => {
      if (!acceptsEventStream(request.headers.accept)) {
        throw new RelayError('RELAY_ERR_INVALID_REQUEST', { message: NOT_ACCEPTABLE, details: [{ field: 'accept', message: 'must admit text/event-stream' }] });
      }
      const paymentId = request.params.id;
      const payment = isPaymentId(paymentId) ? await app.store.getPayment(paymentId) : undefined;
      if (!payment) throw new RelayError('RELAY_ERR_NOT_FOUND', { details: [{ field: 'id', message: 'no payment has this id' }] });
      const lastEventId = Number.parseInt(request.headers['last-event-id'] ?? '', 10);
      // An id past the payment's last event names no event of it (a database restored from an
      // older copy, a mangled id): the client gets the payment as it is now, as a new one would.
      // Waiting for events after it would hold the stream open with nothing ever sent.
      const resumeFrom = Number.isSafeInteger(lastEventId) && lastEventId >= 0 && lastEventId <= payment.seq ? lastEventId : null;
      if (resumeFrom !== null && isTerminal(payment.status) && payment.seq === resumeFrom) {
        // The client heard the final event already (EventSource reconnects after every close):
        // 204 tells it the stream is over for good, where an open stream would be held forever.
        return reply.code(204).send(null);
      }
      if (app.bus.watchers(paymentId) >= MAX_STREAMS_PER_PAYMENT) {
        const message = `This payment has ${MAX_STREAMS_PER_PAYMENT} status streams open already. Close one, or wait and try again.`;
        throw new RelayError('RELAY_ERR_RATE_LIMITED', { code: 'too_many_streams', message, headers: { 'retry-after': '15' }, details: [{ field: 'id', message }] });
      }
      reply.sse.keepAlive();
      // Commit the stream now: a resumed client with nothing new to hear must still get an open
      // text/event-stream, or EventSource gives up. Node holds the headers back until the first
      // write, which for a resumed stream may be the heartbeat 15 s later: send them at once.
      reply.sse.sendHeaders();
      if (resumeFrom !== null) reply.raw.flushHeaders();
      const stream = new PaymentStream(context, paymentId, reply, request.log, resumeFrom);
      await stream.flush();
      // Opened while the relay is closing, after its open streams were handed over (a load
      // balancer's kept-alive connection still leads here): handed over at once too, or it would
      // hold the closing relay open until its payment ended.
      if (app.draining) await stream.handOver();
    },
  );
};
