/** The built widget, as a classic script (`/stk-pay.js`) and an ES module (`/stk-pay.mjs`), and the demo page (`/`). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RelayError } from '../errors.js';
import { demoPage } from './demo-page.js';

export interface SiteOptions {
  /** The built widget (`widget/dist/stk-pay.js`); its ES module build is beside it (`stk-pay.mjs`). */
  widgetFile: string;
  /** Publishable key the demo page uses; no page when undefined. */
  demoPublishableKey: string | undefined;
}

interface Loaded {
  body: Buffer;
  etag: string;
}

export const siteRoutes: FastifyPluginAsyncZod<SiteOptions> = async (app, options) => {
  const serveBuiltFile = async (url: string, file: string) => {
    let loaded: Loaded | undefined;
    const load = async () => {
      if (!loaded) {
        const body = await readFile(file);
        loaded = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      }
      return loaded;
    };
    await load().catch(() => app.log.warn(`widget not built yet (${file}); run pnpm build`));

    app.get(url, { schema: { hide: true } }, async (request, reply) => {
      const script = await load().catch(() => {
        throw new RelayError('RELAY_ERR_UNAVAILABLE', { message: 'The widget is not built on this relay (run pnpm build).' });
      });
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .header('etag', script.etag)
        // Merchants' pages on other origins load it: a classic script needs the first, a module
        // script (fetched in CORS mode) the second. The code is public; payments check the origin.
        .header('cross-origin-resource-policy', 'cross-origin')
        .header('access-control-allow-origin', '*');
      if (request.headers['if-none-match'] === script.etag) return reply.code(304).send();
      return reply.send(script.body);
    });
  };
  await serveBuiltFile('/stk-pay.js', options.widgetFile);
  await serveBuiltFile('/stk-pay.mjs', options.widgetFile.replace(/\.js$/, '.mjs'));

  if (options.demoPublishableKey !== undefined) {
    const page = demoPage(options.demoPublishableKey);
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', 'text/html; charset=utf-8').send(page),
    );
  }
};
