/** The public payment API: create a payment and read it. */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  checkoutTermsBodySchema,
  createPaymentBodySchema,
  type CreatePaymentBody,
  errorBodySchema,
  idempotencyKeySchema,
  isPaymentId,
  merchantPaymentSchema,
  paymentListQuerySchema,
  paymentListSchema,
  paymentSchema,
} from '../api/schemas.js';
import { invalidField, RelayError } from '../errors.js';
import { originAllowed, type Merchant } from '../merchants.js';
import { normalizePhone, PHONE_REASONS } from '../phone.js';
import { acceptTerms, type AcceptedTerms } from '../payments/policy.js';
import { toMerchantView, toView } from '../payments/view.js';
import type { PaymentRecord } from '../store/types.js';

const termsSchema = z.object({
  amount: z.number().int(),
  currency: z.literal('KES'),
  reference: z.string().nullable(),
  description: z.string().nullable(),
});

const authorizationHeaders = z.object({ authorization: z.string().max(300).optional() });

function encodeCursor(payment: PaymentRecord): string {
  return Buffer.from(`${payment.createdAt}:${payment.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  if (!createdAt || !id || !/^\d{1,15}$/.test(createdAt) || !isPaymentId(id)) throw invalidField('cursor', 'is not a cursor from a previous page');
  return { createdAt: Number(createdAt), id };
}

const termsHeadersSchema = z.object({
  'x-publishable-key': z.string().max(200).optional(),
});
const createHeadersSchema = termsHeadersSchema.extend({
  'idempotency-key': idempotencyKeySchema.optional(),
});

export interface PaymentRouteOptions {
  /**
   * POST /v1/payments per minute, per client IP and per publishable key. `exemptIps` skip the
   * per-IP limit (default loopback: a bot or shop backend on the relay's own host serves many
   * customers from one address); the per-key limit still counts them.
   */
  rateLimits: { perIp: number; perKey: number; exemptIps?: string[] };
}

/** An IPv4 client on a dual-stack listener (`HOST=::`) arrives as `::ffff:a.b.c.d`: it is a.b.c.d. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * Generous per IP: Kenyan mobile networks put many customers behind one carrier NAT address. The
 * per-phone rules (payments/abuse.ts) are what protect a phone.
 */
export const DEFAULT_RATE_LIMITS = { perIp: 60, perKey: 600, exemptIps: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] };

export const paymentRoutes: FastifyPluginAsyncZod<PaymentRouteOptions> = async (app, options) => {
  // Two limits on one route: @fastify/rate-limit runs one `rateLimit()` handler per request, so
  // both limiters come from `createRateLimit()` and are checked here.
  const exempt = new Set(options.rateLimits.exemptIps ?? DEFAULT_RATE_LIMITS.exemptIps);
  const perIp = app.createRateLimit({
    max: options.rateLimits.perIp,
    timeWindow: 60_000,
    keyGenerator: (request) => `ip:${request.ip}`,
    allowList: (request) => exempt.has(plainIp(request.ip)),
  });
  const perKey = app.createRateLimit({
    max: options.rateLimits.perKey,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const body = request.body as { publishableKey?: unknown } | undefined;
      const key = request.headers['x-publishable-key'] ?? (typeof body?.publishableKey === 'string' ? body.publishableKey : undefined);
      return `key:${typeof key === 'string' ? key.slice(0, 200) : 'none'}`;
    },
  });
  const rateLimited = async (request: FastifyRequest) => {
    for (const limiter of [perIp, perKey]) {
      const verdict = await limiter(request);
      if (!verdict.isAllowed && verdict.isExceeded) {
        const seconds = Math.max(1, verdict.ttlInSeconds);
        throw new RelayError('RELAY_ERR_RATE_LIMITED', {
          message: `Too many payment requests. Please wait ${seconds} seconds and try again.`,
          headers: { 'retry-after': String(seconds) },
        });
      }
    }
  };

  app.post(
    '/v1/payments',
    {
      preHandler: rateLimited,
      schema: {
        summary: 'Create a payment: sends the M-Pesa PIN prompt to the phone',
        // The key goes in the header or the body (`publishableKey`).
        security: [{ publishableKey: [] }, {}],
        headers: createHeadersSchema,
        body: createPaymentBodySchema,
        response: { 201: paymentSchema, 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 409: errorBodySchema, 413: errorBodySchema, 415: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (request, reply) => {
      // Shutting down: the load balancer (or the widget's retry) takes it to another instance.
      if (app.draining) throw new RelayError('RELAY_ERR_UNAVAILABLE', { headers: { 'retry-after': '1' } });
      const body = request.body;
      const merchant = resolveMerchant(request.headers['x-publishable-key'] ?? body.publishableKey, request);
      const idempotencyKey = request.headers['idempotency-key'] ?? null;
      const phone = normalizePhone(body.phone);
      let terms: AcceptedTerms;
      try {
        terms = acceptTerms(merchant, body);
      } catch (refusal) {
        // A retry of a payment made while its checkout token was valid (same key, same terms) is
        // answered with that payment, though the token has expired since: its prompt went out.
        const retried = idempotencyKey !== null && body.token !== undefined && phone.ok ? await retriedPayment(merchant, body, phone.msisdn, idempotencyKey, request.log) : undefined;
        if (!retried) throw refusal;
        reply.header('idempotent-replayed', 'true');
        return reply.code(201).send(toView(retried.payment));
      }
      if (!phone.ok) throw invalidField('phone', PHONE_REASONS[phone.reason]);

      const { payment, replayed } = await app.payments.create(merchant, {
        ...terms,
        phone: phone.msisdn,
        idempotencyKey,
      }, request.log);
      // A replay returns the payment as stored now (read by the service), not as first created.
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(toView(payment));
    },
  );

  app.post(
    '/v1/checkout/terms',
    {
      schema: {
        summary: 'What a payment with these details would charge, or why it would be refused (nothing is stored, no prompt)',
        security: [{ publishableKey: [] }, {}],
        headers: termsHeadersSchema,
        body: checkoutTermsBodySchema,
        response: { 200: termsSchema, 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 413: errorBodySchema, 415: errorBodySchema },
      },
    },
    async (request) => {
      const merchant = resolveMerchant(request.headers['x-publishable-key'] ?? request.body.publishableKey, request);
      const terms = acceptTerms(merchant, { ...request.body, phone: '' });
      return { ...terms, currency: 'KES' as const };
    },
  );

  /**
   * The payment an earlier request with this key and token made, when the token was refused only
   * for having expired since: its signature, merchant and terms are checked as always.
   */
  async function retriedPayment(merchant: Merchant, body: CreatePaymentBody, msisdn: string, idempotencyKey: string, log: FastifyBaseLogger) {
    let terms: AcceptedTerms;
    try {
      terms = acceptTerms(merchant, body, 0);
    } catch {
      return undefined;
    }
    return app.payments.retried(merchant, { ...terms, phone: msisdn, idempotencyKey }, log);
  }

  /** The merchant of a publishable key, for a caller on an origin it allows (401 / 403 otherwise). */
  function resolveMerchant(publishableKey: string | undefined, request: FastifyRequest) {
    const merchant = app.merchants.byPublishableKey(publishableKey);
    if (!merchant) throw new RelayError('RELAY_ERR_UNAUTHORIZED');
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(merchant, origin, `${request.protocol}://${request.host}`)) {
      throw new RelayError('RELAY_ERR_FORBIDDEN_ORIGIN');
    }
    return merchant;
  }

  app.get(
    '/v1/payments/:id',
    {
      schema: {
        summary: 'The payment now (with the secret key: the merchant view, full phone number included)',
        security: [{}, { secretKey: [] }],
        params: z.object({ id: z.string() }),
        headers: authorizationHeaders,
        response: { 200: z.union([merchantPaymentSchema, paymentSchema]), 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const merchant = merchantFromAuthorization(request.headers.authorization);
      // An id that cannot be one names no payment: not worth a query (PostgreSQL refuses some).
      const payment = isPaymentId(request.params.id) ? await app.store.getPayment(request.params.id) : undefined;
      // Another merchant's payment does not exist for this one.
      if (!payment || (merchant && payment.merchantId !== merchant.id)) {
        throw new RelayError('RELAY_ERR_NOT_FOUND', { details: [{ field: 'id', message: 'no payment has this id' }] });
      }
      return merchant ? toMerchantView(payment) : toView(payment);
    },
  );

  app.get(
    '/v1/payments',
    {
      schema: {
        summary: "The merchant's payments, newest first (secret key)",
        security: [{ secretKey: [] }],
        headers: authorizationHeaders,
        querystring: paymentListQuerySchema,
        response: { 200: paymentListSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request) => {
      const merchant = merchantFromAuthorization(request.headers.authorization);
      if (!merchant) throw new RelayError('RELAY_ERR_UNAUTHORIZED', { message: 'The merchant API needs Authorization: Bearer sk_…' });
      const { reference, status, limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const page = await app.store.listPayments({
        merchantId: merchant.id,
        limit: limit + 1,
        ...(reference !== undefined ? { reference } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(after ? { after } : {}),
      });
      const data = page.slice(0, limit);
      const last = data.at(-1);
      return { data: data.map(toMerchantView), nextCursor: page.length > limit && last ? encodeCursor(last) : null };
    },
  );

  /** The merchant whose secret key is in `Authorization: Bearer sk_…`; undefined without the header. */
  function merchantFromAuthorization(header: string | undefined) {
    if (header === undefined) return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const merchant = match ? app.merchants.bySecretKey(match[1]) : undefined;
    if (!merchant) throw new RelayError('RELAY_ERR_UNAUTHORIZED', { message: 'The secret key is not valid.' });
    return merchant;
  }
};
