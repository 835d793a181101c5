/** The public payment API: create a payment and read it. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createPaymentBodySchema,
  errorBodySchema,
  idempotencyKeySchema,
  paymentSchema,
} from '../api/schemas.js';
import { invalidField, RelayError } from '../errors.js';
import { originAllowed } from '../merchants.js';
import { normalizePhone, PHONE_REASONS } from '../phone.js';
import { toView } from '../payments/view.js';

const createHeadersSchema = z.object({
  'idempotency-key': idempotencyKeySchema.optional(),
  'x-publishable-key': z.string().max(200).optional(),
});

export const paymentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/payments',
    {
      schema: {
        summary: 'Create a payment: sends the M-Pesa PIN prompt to the phone',
        headers: createHeadersSchema,
        body: createPaymentBodySchema,
        response: { 201: paymentSchema, 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const merchant = app.merchants.byPublishableKey(request.headers['x-publishable-key'] ?? body.publishableKey);
      if (!merchant) throw new RelayError('RELAY_ERR_UNAUTHORIZED');
      const origin = request.headers.origin;
      if (origin !== undefined && !originAllowed(merchant, origin, `${request.protocol}://${request.host}`)) {
        throw new RelayError('RELAY_ERR_FORBIDDEN_ORIGIN');
      }
      const { min, max } = merchant.amount;
      if (body.amount < min || body.amount > max) {
        throw invalidField('amount', `this merchant accepts KES ${min} to KES ${max.toLocaleString('en-KE')}`);
      }
      const phone = normalizePhone(body.phone);
      if (!phone.ok) throw invalidField('phone', PHONE_REASONS[phone.reason]);

      const { payment, replayed } = await app.payments.create(merchant, {
        amount: body.amount,
        phone: phone.msisdn,
        reference: body.reference ?? null,
        description: body.description || null,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      const current = replayed ? ((await app.store.getPayment(payment.id)) ?? payment) : payment;
      return reply.code(201).send(toView(current));
    },
  );

  app.get(
    '/v1/payments/:id',
    {
      schema: {
        summary: 'The payment now',
        params: z.object({ id: z.string().max(64) }),
        response: { 200: paymentSchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const payment = await app.store.getPayment(request.params.id);
      if (!payment) throw new RelayError('RELAY_ERR_NOT_FOUND', { details: [{ field: 'id', message: 'no payment has this id' }] });
      return toView(payment);
    },
  );
};
