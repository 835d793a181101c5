/**
 * The API description at `GET /docs`: OpenAPI generated from the zod schemas of the public routes
 * (@fastify/swagger). Programs get the JSON there (no Accept header, or one that ranks JSON at
 * least as high as HTML) and at `/docs/json`; a browser gets Swagger UI, served from
 * @fastify/swagger-ui's own files, nothing from a CDN.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { errorBodySchema } from './api/schemas.js';

const DOCS = '/docs';

/**
 * Answers the relay as a whole gives on its routes, though no route's schema names them, with
 * the one error body (http-errors.ts): each documented route lists them, unless it says more of
 * its own. 500 is left out: a fault of the relay's, not an answer to plan for.
 */
const SHARED_ANSWERS = {
  // Every documented route validates some part of its request (zod), or negotiates its answer.
  400: errorBodySchema.describe('`invalid_request`: the request breaks a rule of this description; `details` names each field at fault and why.'),
  // Only where there is a body to wait for: before its headers are in, a request has no route.
  408: errorBodySchema.describe('`request_timeout`: the whole request (its body) did not arrive in time (30 s by default); the connection is closed.'),
  // The store out of reach (a full disk, a lost connection), or the relay shutting down.
  503: errorBodySchema.describe('`unavailable`: the relay cannot use its database now, or is shutting down; try again after `Retry-After` seconds.'),
};

type RouteSchema = Record<string, unknown> & { hide?: boolean; body?: unknown; response?: Record<string, unknown> };

/** jsonSchemaTransform, after adding the shared answers to each documented route's responses. */
const withSharedAnswers: typeof jsonSchemaTransform = (document) => {
  const schema = document.schema as RouteSchema | undefined;
  if (!schema || schema.hide || document.url.startsWith(DOCS)) return jsonSchemaTransform(document);
  const { 408: timedOut, ...always } = SHARED_ANSWERS;
  const shared = schema.body === undefined ? always : { ...always, 408: timedOut };
  return jsonSchemaTransform({ ...document, schema: { ...schema, response: { ...shared, ...schema.response } } });
};

/** Registers the description and the UI; before the routes, which @fastify/swagger collects as they are added. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'stk-pay relay', version: '1', description: 'M-Pesa STK push checkout: payments, live status, merchant API.' },
      components: {
        securitySchemes: {
          publishableKey: { type: 'apiKey', in: 'header', name: 'X-Publishable-Key' },
          secretKey: { type: 'http', scheme: 'bearer', description: 'The merchant secret key, sk_…' },
        },
      },
    },
    transform: withSharedAnswers,
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS,
    theme: { title: 'stk-pay relay API' },
    uiHooks: {
      // `GET /docs` is the OpenAPI JSON by contract (DESIGN.md); the UI is for browsers only.
      onRequest: async (request, reply) => {
        if (request.routeOptions.url !== DOCS && request.routeOptions.url !== `${DOCS}/`) return;
        reply.header('vary', 'accept');
        if (!prefersHtml(request.headers.accept)) return reply.send(app.swagger());
      },
    },
  });
}

/**
 * Whether an Accept header ranks text/html above application/json, each taking the quality of
 * its most specific matching range. A tie (curl's default, any type at all) goes to JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    return { range: range.trim(), quality: Number.isFinite(quality) ? quality : 0 };
  });
  const qualityOf = (type: string) => {
    const [major] = type.split('/');
    for (const candidate of [type, `${major}/*`, '*/*']) {
      const found = ranges.find(({ range }) => range === candidate);
      if (found) return found.quality;
    }
    return 0;
  };
  return qualityOf('text/html') > qualityOf('application/json');
}
