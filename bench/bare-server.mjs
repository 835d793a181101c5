/**
 * The baseline the relay's figures are compared with: bare Fastify set up as the relay sets itself
 * up (the same Fastify and @fastify/sse, JSON logs at info to stdout in the relay's batches, the same body limit, SSE
 * heartbeat and connection settings), doing no work of its own. Plain JavaScript, run without a
 * loader, as the relay's compiled build is.
 *
 * - `POST /json`: parses a JSON body and answers 201 with a small JSON object.
 * - `GET /streams/:n`: an SSE stream that sends one event at once and stays open (heartbeats).
 * - `POST /streams/:n/notify`: sends one event down stream n, then answers 200.
 * - `GET /page`: a page that follows one stream with EventSource and shows its final event.
 * - `POST /stored`, only with `BARE_SQLITE=<file>`: the ceiling of a relay that stores payments
 *   as this one does. The `/json` route's work plus the relay's own SQLite store doing one
 *   payment's reads and writes, in the relay's order (the idempotency key, the abuse rules' two
 *   reads and the insert with its first event under the phone's lock, answered once durable; then
 *   the push's claim and its recorded answer), and nothing else: no validation, rules, provider
 *   call, metrics or log lines of a payment.
 */
import { randomUUID } from 'node:crypto';
import sse from '@fastify/sse';
import Fastify from 'fastify';
import { batchedStdout } from '../server/dist/log-stream.js';

const app = Fastify({
  // The relay's own log destination (stdout in batches), so both pay for their log lines alike.
  logger: { level: process.env.LOG_LEVEL ?? 'info', stream: batchedStdout() },
  bodyLimit: 16 * 1024,
  trustProxy: 'loopback, linklocal, uniquelocal',
  forceCloseConnections: 'idle',
});
await app.register(sse, { heartbeatInterval: 15_000 });

app.get('/healthz', { logLevel: 'warn' }, async () => ({ ok: true }));

app.post('/json', async (request, reply) => {
  const body = request.body ?? {};
  return reply.code(201).send({ id: `pay_${randomUUID()}`, status: 'pending', amount: body.amount, reference: body.reference ?? null });
});

/** @type {Map<string, import('fastify').FastifyReply>} */
const streams = new Map();

app.get('/streams/:n', { sse: { kind: 'only', serializer: (data) => (typeof data === 'string' ? data : JSON.stringify(data)) } }, async (request, reply) => {
  const { n } = request.params;
  reply.sse.keepAlive();
  reply.sse.sendHeaders();
  streams.set(n, reply);
  reply.sse.onClose(() => streams.delete(n));
  await reply.sse.send({ id: '1', event: 'status', data: { id: n, status: 'awaiting_customer' }, retry: 2_000 });
});

app.post('/streams/:n/notify', async (request, reply) => {
  const stream = streams.get(request.params.n);
  if (!stream) return reply.code(404).send({ error: 'no such stream' });
  await stream.sse.send({ id: '2', event: 'status', data: { id: request.params.n, status: 'succeeded' } });
  stream.sse.close();
  return { ok: true };
});

// The browser baseline: a page that follows one stream and shows its final event.
app.get('/page', async (_request, reply) =>
  reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><p id="out">Waiting</p><script>
window.follow = (n) => {
  const source = new EventSource('/streams/' + n);
  let opened;
  window.opened = new Promise((resolve) => (opened = resolve));
  window.shown = new Promise((resolve) => {
    source.addEventListener('status', (event) => {
      const payment = JSON.parse(event.data);
      if (payment.status !== 'succeeded') return opened();
      document.getElementById('out').textContent = 'Paid';
      source.close();
      requestAnimationFrame(() => resolve(performance.timeOrigin + performance.now()));
    });
  });
};
</script>`),
);

if (process.env.BARE_SQLITE) {
  const { openSqliteStore } = await import('../server/dist/store/sqlite.js');
  const { LOST_PUSH_AFTER_MS, newPaymentId } = await import('../server/dist/payments/service.js');
  const { DEFAULT_CHECK_SCHEDULE } = await import('../server/dist/payments/schedule.js');
  const { DEFAULT_ABUSE_LIMITS, RECENT_FOR_PHONE } = await import('../server/dist/payments/abuse.js');
  const store = await openSqliteStore(process.env.BARE_SQLITE);
  app.addHook('onClose', () => store.close());

  app.post('/stored', async (request, reply) => {
    const { amount, phone, reference } = request.body;
    const key = request.headers['idempotency-key'] ?? null;
    const payment = await store.withLock(`phone:demo:${phone}`, async () => {
      const now = Date.now();
      if (key !== null && (await store.findByIdempotencyKey('demo', key))) throw new Error(`idempotency key ${key} used twice`);
      await Promise.all([
        store.recentForPhone('demo', phone, now - RECENT_FOR_PHONE.windowMs, RECENT_FOR_PHONE.limit),
        store.failureTimes('demo', now - DEFAULT_ABUSE_LIMITS.failureWindowMs),
      ]);
      const created = await store.createPayment(
        { id: newPaymentId(now), merchantId: 'demo', amount, phone, reference, description: null, provider: 'sandbox', idempotencyKey: key, requestHash: '-', nextCheckAt: now + LOST_PUSH_AFTER_MS },
        now,
      );
      return created.payment;
    });
    // The push's writes, after the answer as the relay makes them (its call to the provider left out).
    const pushed = async () => {
      const now = Date.now();
      if (!(await store.claimPush(payment.id, now, now + DEFAULT_CHECK_SCHEDULE.promptWindowMs))) return;
      await store.updatePayment(payment.id, { status: 'awaiting_customer', providerRef: `ref_${payment.id}` }, 'push', Date.now());
    };
    pushed().catch((error) => app.log.error({ err: error }, 'the push writes failed'));
    return reply.code(201).send({ id: payment.id, status: payment.status, amount, reference });
  });
}

// Stopped as the relay is (SIGTERM): closed, so its store is closed too and `--cpu-prof` writes its profile.
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
