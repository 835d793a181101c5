/** Liveness and readiness for load balancers and orchestrators. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ ok: true }));

  // Counts only (no ids, phones or secrets); keep it off the public internet like /readyz.
  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) =>
    reply.header('content-type', app.metrics.registry.contentType).send(await app.metrics.render()),
  );

  app.get('/readyz', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    if (app.draining) return reply.code(503).send({ ok: false, reason: 'shutting down' });
    try {
      await app.store.ping();
    } catch {
      return reply.code(503).send({ ok: false, reason: 'store unavailable' });
    }
    return { ok: true, providers: app.merchants.providers().map((provider) => provider.name) };
  });
};
