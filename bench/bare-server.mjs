/**
 * The baseline the relay's figures are compared with: bare Fastify set up as the relay sets itself
 * up (the same Fastify and @fastify/sse, JSON logs at info to stdout, the same body limit, SSE
 * heartbeat and connection settings), doing no work of its own. Plain JavaScript, run without a
 * loader, as the relay's compiled build is.
 *
 * - `POST /json`: parses a JSON body and answers 201 with a small JSON object.
 * - `GET /streams/:n`: an SSE stream that sends one event at once and stays open (heartbeats).
 * - `POST /streams/:n/notify`: sends one event down stream n, then answers 200.
 * - `GET /page`: a page that follows one stream with EventSource and shows its final event.
 */
import { randomUUID } from 'node:crypto';
import sse from '@fastify/sse';
import Fastify from 'fastify';

const app = Fastify({
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
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

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
