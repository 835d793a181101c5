/** The built widget script (`/stk-pay.js`) and the demo page (`/`). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RelayError } from '../errors.js';
import { demoPage } from './demo-page.js';

export interface SiteOptions {
  /** The built widget (`widget/dist/stk-pay.js`). */
  widgetFile: string;
  /** Publishable key the demo page uses; no page when undefined. */
  demoPublishableKey: string | undefined;
}

export const siteRoutes: FastifyPluginAsyncZod<SiteOptions> = async (app, options) => {
  let widget: { body: Buffer; etag: string } | undefined;
  const loadWidget = async () => {
    if (!widget) {
      const body = await readFile(options.widgetFile);
      widget = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    }
    return widget;
  };
  await loadWidget().catch(() => app.log.warn(`widget not built yet (${options.widgetFile}); run pnpm build`));

  app.get('/stk-pay.js', { schema: { hide: true } }, async (request, reply) => {
    const script = await loadWidget().catch(() => {
      throw new RelayError('RELAY_ERR_UNAVAILABLE', { message: 'The widget is not built on this relay (run pnpm build).' });
    });
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('etag', script.etag)
      // Merchants' pages on other origins load it with a plain script tag.
      .header('cross-origin-resource-policy', 'cross-origin');
    if (request.headers['if-none-match'] === script.etag) return reply.code(304).send();
    return reply.send(script.body);
  });

  if (options.demoPublishableKey !== undefined) {
    const page = demoPage(options.demoPublishableKey);
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', 'text/html; charset=utf-8').send(page),
    );
  }
};
