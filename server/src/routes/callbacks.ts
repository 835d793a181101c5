/**
 * `POST /v1/callbacks/:provider/:token`: where providers report results. The secret path token is
 * compared in constant time; what the callback says is then checked by the payment service
 * (amount, state machine, and a status query for unsigned callbacks). Answered 200 whenever the
 * provider should stop retrying, even when the relay chose to ignore the callback.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RelayError } from '../errors.js';
import { sameSecret } from '../merchants.js';

export const callbackRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/callbacks/:provider/:token',
    {
      schema: {
        hide: true,
        params: z.object({ provider: z.string().max(32), token: z.string().max(256) }),
      },
    },
    async (request, reply) => {
      const instances = app.merchants.providersNamed(request.params.provider);
      const provider = instances[0];
      // Counted too: a wrong token is how a stale callback URL in a provider's dashboard shows.
      // The label is a configured provider's name or `unknown`, never what the path says.
      if (!sameSecret(request.params.token, app.callbackToken)) {
        app.metrics.callbacks.inc({ provider: provider?.name ?? 'unknown', verdict: 'forbidden' });
        request.log.warn({ provider: request.params.provider }, 'callback with a wrong path token refused');
        throw new RelayError('RELAY_ERR_CALLBACK_REJECTED');
      }
      if (!provider) {
        app.metrics.callbacks.inc({ provider: 'unknown', verdict: 'unknown_provider' });
        throw new RelayError('RELAY_ERR_CALLBACK_REJECTED', { message: 'No such provider on this relay.' });
      }
      const verdict = await app.payments.handleCallback(instances, {
        headers: request.headers,
        body: request.body,
        rawBody: request.rawBody ?? JSON.stringify(request.body ?? null),
      }, request.log);
      app.metrics.callbacks.inc({ provider: provider.name, verdict });
      if (provider.callbackAnswer) {
        const answer = provider.callbackAnswer(verdict);
        return reply.code(answer.status).send(answer.body);
      }
      if (verdict === 'forbidden') throw new RelayError('RELAY_ERR_CALLBACK_REJECTED');
      if (verdict === 'rejected') return reply.code(400).send({ received: false, verdict });
      return { received: true, verdict };
    },
  );
};
