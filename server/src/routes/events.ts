/**
 * `GET /v1/payments/:id/events`: the payment's status as server-sent events. The current state at
 * once (or, with `Last-Event-ID`, every event after it), then each change, with the sequence number
 * as the event id; closed after a terminal state. Events come from the store, the bus only wakes
 * the stream, so a stream on any relay instance sees a change committed by any other.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PaymentStatus } from '../api/schemas.js';
import { RelayError } from '../errors.js';
import { isTerminal } from '../payments/state-machine.js';
import type { PaymentEventRecord } from '../store/types.js';

/** Tells EventSource how soon to reconnect after a drop. */
const RECONNECT_MS = 2_000;
/** After a shutdown hand-over: the next instance is up already. */
const HANDOVER_RECONNECT_MS = 250;

export const eventRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/payments/:id/events',
    {
      // 'only': a wildcard Accept (curl, fetch) still gets the stream.
      sse: { kind: 'only', serializer: (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)) },
      schema: {
        summary: 'Server-sent events: `event: status`, `id: <seq>`, data = the payment',
        params: z.object({ id: z.string().max(64) }),
        headers: z.object({ 'last-event-id': z.string().optional() }),
      },
    },
    async (request, reply) => {
      const paymentId = request.params.id;
      if (!(await app.store.getPayment(paymentId))) {
        throw new RelayError('RELAY_ERR_NOT_FOUND', { details: [{ field: 'id', message: 'no payment has this id' }] });
      }
      const resumeFrom = Number.parseInt(request.headers['last-event-id'] ?? '', 10);
      let lastSent: number | null = Number.isSafeInteger(resumeFrom) && resumeFrom >= 0 ? resumeFrom : null;
      let finished = false;
      let first = true;
      reply.sse.keepAlive();
      app.metrics.openStreams.inc();
      // Commit the stream now: a resumed client with nothing new to hear must still get an open
      // text/event-stream, or EventSource gives up.
      reply.sse.sendHeaders();

      const send = async (event: PaymentEventRecord) => {
        await reply.sse.send({ id: String(event.seq), event: 'status', data: event.view, ...(first ? { retry: RECONNECT_MS } : {}) });
        first = false;
        lastSent = event.seq;
        if (isTerminal(event.status as PaymentStatus)) finished = true;
      };

      // One flush at a time, so events go out in order and never twice.
      let queue: Promise<void> = Promise.resolve();
      const flush = () => {
        queue = queue
          .then(async () => {
            if (finished || !reply.sse.isConnected) return;
            const events =
              lastSent === null
                ? [await app.store.latestEvent(paymentId)].filter((e): e is PaymentEventRecord => e !== undefined)
                : await app.store.eventsAfter(paymentId, lastSent);
            for (const event of events) {
              if (!reply.sse.isConnected) return;
              await send(event);
            }
            if (finished) close();
          })
          .catch((error: unknown) => {
            request.log.warn({ err: error }, 'SSE stream failed; the client will reconnect');
            close();
          });
        return queue;
      };

      const unsubscribe = app.bus.subscribe(paymentId, () => void flush());
      const close = () => {
        unsubscribe();
        app.sseStreams.delete(handOver);
        if (reply.sse.isConnected) reply.sse.close();
      };
      // On shutdown: tell the client to come back soon (to another instance), then close.
      const handOver = async () => {
        unsubscribe();
        app.sseStreams.delete(handOver);
        if (!reply.sse.isConnected) return;
        await reply.sse.send({ event: 'reconnect', data: 'relay restarting', retry: HANDOVER_RECONNECT_MS }).catch(() => undefined);
        if (reply.sse.isConnected) reply.sse.close();
      };
      app.sseStreams.add(handOver);
      reply.sse.onClose(() => {
        app.metrics.openStreams.dec();
        unsubscribe();
        app.sseStreams.delete(handOver);
      });
      await flush();
    },
  );
};
