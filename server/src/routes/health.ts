/** Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Readiness } from '../readiness.js';

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ ok: true }));

  // Counts only (no ids, phones or secrets); keep it off the public internet like /readyz.
  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) =>
    reply.header('content-type', app.metrics.registry.contentType).send(await app.metrics.render()),
  );

  const readiness = new Readiness({ store: app.store, merchants: app.merchants, log: app.log });
  app.get('/readyz', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    if (app.draining) return reply.code(503).send({ ok: false, reason: 'shutting down' });
    const verdict = await readiness.check();
    if (!verdict.ready) return reply.code(503).send({ ok: false, reason: verdict.reason });
    return { ok: true, providers: verdict.providers };
  });
};
