/**
 * `buildApp(options)`: the whole relay, ready for `listen()` or `inject()`. It never listens
 * itself; the CLI (`cli.ts`) does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Server as NetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import sseModule, { type SSEPluginOptions } from '@fastify/sse';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { MemoryStatusBus } from './bus/memory.js';
import { registerDocs } from './docs.js';
import { PgStatusBus } from './bus/postgres.js';
import type { StatusBus } from './bus/types.js';
import { invalidField, RelayError } from './errors.js';
import { answerClientError, registerErrorHandling, toRelayError } from './http-errors.js';
import { RelayMetrics } from './metrics.js';
import { DEFAULT_AMOUNT_POLICY, DEMO_PUBLISHABLE_KEY, generateSecretKey, MerchantRegistry, type Merchant } from './merchants.js';
import { DEFAULT_ABUSE_LIMITS, type AbuseLimits } from './payments/abuse.js';
import { DEFAULT_CHECK_SCHEDULE, type CheckSchedule } from './payments/schedule.js';
import { PaymentService } from './payments/service.js';
import { SandboxProvider } from './providers/sandbox.js';
import type { Provider } from './providers/types.js';
import { Poller } from './poller.js';
import { callbackRoutes } from './routes/callbacks.js';
import { relayPage } from './routes/demo-page.js';
import { eventRoutes, type OpenStream } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { DEFAULT_RATE_LIMITS, paymentRoutes } from './routes/payments.js';
import { siteRoutes } from './routes/site.js';
import { DEFAULT_WEBHOOK_RETRY, WebhookDeliverer, type WebhookRetryPolicy } from './webhooks/deliverer.js';
import { openPostgresStore } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import type { PaymentStore } from './store/types.js';

export interface AppOptions {
  /** SQLite file (`STK_PAY_DB`); ignored when `store` or `databaseUrl` is given. */
  dbPath: string;
  /** PostgreSQL instead of SQLite (`DATABASE_URL`), with the LISTEN/NOTIFY status bus. */
  databaseUrl?: string;
  /** A PostgreSQL schema and NOTIFY channel of its own (tests). */
  postgresSchema?: string;
  store?: PaymentStore;
  bus?: StatusBus;
  /** Base URL providers call back (`PUBLIC_URL`); default: the address the relay listens on. */
  publicUrl?: string;
  /** Secret path segment of callback URLs (`CALLBACK_TOKEN`); default: random, kept in the store. */
  callbackToken?: string;
  /** Merchants; default: the demo merchant on the sandbox provider. */
  merchants?: Merchant[];
  /** Extra origins the demo merchant accepts, besides the relay's own pages. */
  allowedOrigins?: string[];
  sandboxDelayMs?: number;
  checkSchedule?: CheckSchedule;
  /** The rules that keep a merchant below the aggregators' abuse blocks. */
  abuseLimits?: Partial<AbuseLimits>;
  /** Requests per minute to POST /v1/payments, per client IP and per publishable key. */
  rateLimits?: { perIp: number; perKey: number; exemptIps?: string[] };
  /**
   * Which proxies' X-Forwarded-For to believe (`TRUST_PROXY`): Fastify's `trustProxy` (true, or
   * addresses/CIDRs). Default: proxies on loopback and private networks only, so a
   * client on the internet cannot pick its own address for the per-IP limit.
   */
  trustProxy?: boolean | string;
  /** How often the reconciler looks for due status checks. */
  reconcileTickMs?: number;
  /** Status queries per second at most (`RECONCILE_MAX_PER_SECOND`); see DEFAULT_RECONCILE_MAX_PER_SECOND. */
  reconcileMaxPerSecond?: number;
  /** How often the webhook outbox is looked at, and its retry policy. */
  webhookTickMs?: number;
  webhookRetry?: Partial<WebhookRetryPolicy>;
  /** The built widget; default `widget/dist/stk-pay.js` in this checkout. */
  widgetFile?: string;
  /**
   * Serve a page at `/` (default true): the demo page when the demo merchant runs the sandbox,
   * otherwise a short one with no checkout.
   */
  demoPage?: boolean;
  /** The longest an event stream stays silent: then it gets a heartbeat comment (default 15 s). */
  heartbeatMs?: number;
  /**
   * How long a client may take to send a whole request, headers and body (default 30 s): one that
   * trickles its body would otherwise hold its connection for good (Fastify's default is no limit).
   * A status stream is not cut by it: its request is complete once its headers are in.
   */
  requestTimeoutMs?: number;
  /** Once closing, how long open keep-alive connections are kept for a last request (default DEFAULT_IDLE_GRACE_MS). */
  idleGraceMs?: number;
  bodyLimit?: number;
  logger?: boolean | { level: string };
  /** Where log lines go (default stdout, written synchronously); tests capture them. */
  logStream?: DestinationStream;
}

declare module 'fastify' {
  interface FastifyInstance {
    store: PaymentStore;
    bus: StatusBus;
    merchants: MerchantRegistry;
    payments: PaymentService;
    metrics: RelayMetrics;
    callbackToken: string;
    /** Closers of the open SSE streams, so shutdown can end them. */
    sseStreams: Set<OpenStream>;
    /** True once shutdown has begun. */
    draining: boolean;
  }
  interface FastifyRequest {
    rawBody?: string;
  }
}

// Node's default import of this CommonJS package is its fastify-plugin-wrapped export (which adds
// the SSE route hook app-wide); its typings describe the ESM shape instead.
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>;

/** An incoming X-Request-Id we keep: short, and nothing a log reader could be fooled by. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Status queries a relay instance sends per second at most. Callbacks are the fast path; queries
 * are the safety net. Unbounded, 12,500 open payments (a status check every 5 s each in the
 * prompt window) kept the relay's CPU busy with checks and held callbacks up by a second (the SSE
 * benchmark), and would run into the providers' own limits (Daraja's spike arrest).
 */
export const DEFAULT_RECONCILE_MAX_PER_SECOND = 20;

const DEFAULT_WIDGET_FILE = fileURLToPath(new URL('../../widget/dist/stk-pay.js', import.meta.url));

/**
 * The demo merchant of a relay without a merchants file. Without `secretKey`, the relay gives it a
 * random one kept in its database (`pnpm token` reads it there), never a well-known one.
 */
export function demoMerchant(provider: Provider, allowedOrigins: string[] = [], secretKey?: string): Merchant {
  return {
    id: 'demo',
    name: 'Demo shop',
    publishableKeys: [DEMO_PUBLISHABLE_KEY],
    secretKeys: secretKey ? [secretKey] : [],
    allowedOrigins: ['self', ...allowedOrigins],
    provider,
    amount: DEFAULT_AMOUNT_POLICY,
  };
}

/** Providers whose callback URL is typed into their dashboard once (the others get it with each push). */
const DASHBOARD_CALLBACK_PROVIDERS = new Set(['intasend', 'kulmipay']);

/** A host (as `URL.hostname` writes it) that only this machine reaches. */
function isOwnMachine(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\./.test(hostname) || ['[::1]', '[::ffff:7f00:1]', '0.0.0.0', '[::]'].includes(hostname);
}

/**
 * What keeps a real provider's callbacks from ever arriving, one line per setting to look at.
 * Warnings, not a refusal to start: a developer may try a provider's own sandbox from a laptop,
 * where the status queries settle each payment (a minute or more later). Never a setting's value
 * but the host: the callback token is a secret.
 */
export function callbackSetupWarnings(providerNames: string[], publicUrl: string | undefined, callbackTokenSet: boolean): string[] {
  const real = [...new Set(providerNames)].filter((name) => name !== 'sandbox');
  if (real.length === 0) return [];
  const warnings: string[] = [];
  const late = `${real.join(', ')} callbacks cannot arrive; payments settle only through status queries, a minute or more late`;
  const url = publicUrl === undefined ? undefined : new URL(publicUrl);
  if (url === undefined) {
    warnings.push(`PUBLIC_URL is not set: callback URLs name the address the relay listens on, which the provider cannot reach; ${late}. Set PUBLIC_URL to the relay's public https address.`);
  } else if (isOwnMachine(url.hostname)) {
    warnings.push(`PUBLIC_URL names this machine (${url.hostname}), which the provider cannot reach; ${late}. Set PUBLIC_URL to the relay's public https address.`);
  } else if (real.includes('daraja') && url.protocol !== 'https:') {
    warnings.push(`PUBLIC_URL is not https: Safaricom (daraja) wants an https callback URL; ${late}. Set PUBLIC_URL to the relay's public https address.`);
  }
  const dashboard = real.filter((name) => DASHBOARD_CALLBACK_PROVIDERS.has(name));
  if (dashboard.length > 0 && !callbackTokenSet) {
    warnings.push(
      `CALLBACK_TOKEN is not set: the relay made up a random one, kept in its database and never shown (another database makes another), so the callback URL entered in the ${dashboard.join(' and ')} dashboard (PUBLIC_URL/v1/callbacks/${dashboard[0]}/CALLBACK_TOKEN) cannot be right. Set CALLBACK_TOKEN (16 to 128 letters, digits, - or _) and enter that URL.`,
    );
  }
  return warnings;
}

/**
 * The callback URL's last segment is the secret path token: never in a log line. Whatever follows
 * `callbacks` in a request's URL is replaced, but for a provider's name, however the URL is
 * mistyped (doubled or missing slashes, another case, escaped slashes or letters): a provider's dashboard
 * set up with a slip still sends the real token.
 */
export function redactCallbackToken(url: string): string {
  // The router reads `%63allbacks` as `callbacks`: so does the search, for letters and digits.
  if (url.includes('%')) url = url.replace(/%([46][1-9a-f]|[57][0-9a]|3[0-9])/gi, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const at = url.search(/callbacks/i);
  if (at < 0) return url;
  const head = url.slice(0, at + 'callbacks'.length);
  const provider = /^\/+[a-z]{1,16}(?=[/?]|$)/i.exec(url.slice(head.length))?.[0] ?? '';
  return url.length > head.length + provider.length ? `${head}${provider}/[redacted]` : url;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * How long, once closing, a keep-alive connection with no request on it is kept open: a request
 * its client sent meanwhile (or had sent, unread yet) is answered (a payment with 503, and
 * `Connection: close`) instead of finding its connection reset.
 */
export const DEFAULT_IDLE_GRACE_MS = 1_000;

/** How long a client may take to send a whole request (see `AppOptions.requestTimeoutMs`). */
const REQUEST_TIMEOUT_MS = 30_000;

/** The routes that create a payment or check its terms (the query string aside). */
const CREATING_PATH = /^\/v1\/(payments|checkout\/terms)(\?|$)/;

/** The database could not be opened or reached (start-up names its setting). */
export class DatabaseUnusableError extends Error {
  override name = 'DatabaseUnusableError';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: typeof options.logger === 'object' ? options.logger.level : 'info',
            ...(options.logStream ? { stream: options.logStream } : {}),
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-challenge"]'], censor: '[redacted]' },
            serializers: {
              req: (request: { method: string; url: string; ip?: string }) => ({
                method: request.method,
                url: redactCallbackToken(request.url),
                remoteAddress: request.ip,
              }),
            },
          },
    // A caller's (or its proxy's) X-Request-Id when it is short and plain, so one id follows a
    // request across systems; otherwise our own. Never an arbitrary string in our logs.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    requestTimeout,
    // Node looks for requests over their time every 30 s; a shorter limit (tests) is looked for
    // sooner. Its headers' own limit (60 s) may not be longer, or Node checks neither.
    http: { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 2))) },
    // Load balancers and proxies in front of the relay set X-Forwarded-*.
    trustProxy: options.trustProxy ?? 'loopback, linklocal, uniquelocal',
    // On close, idle keep-alive connections go (after a grace: the preClose hook); requests in
    // flight finish first.
    forceCloseConnections: 'idle',
    // Not Fastify's blanket 503 while closing: a provider's callback that arrives then is still
    // taken (Daraja sends each once), new payments are refused by their route (`draining`), and
    // everything is refused once the store is closed (the first `onRequest` hook).
    return503OnClosing: false,
    // A request the router or Node cannot read gets the documented error body, as every other.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const relayError = toRelayError(error);
      void reply.code(relayError.statusCode).send(relayError.toBody());
    },
    clientErrorHandler: answerClientError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  // Set once the store is closed (the end of a shutdown): every request is refused from then on.
  let storeClosed = false;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (storeClosed) throw new RelayError('RELAY_ERR_UNAVAILABLE', { headers: { 'retry-after': '1' } });
  });

  const unusable = (error: unknown) => {
    throw new DatabaseUnusableError(error);
  };
  const store =
    options.store ??
    (options.databaseUrl
      ? await openPostgresStore(options.databaseUrl, options.postgresSchema ? { schema: options.postgresSchema } : {}).catch(unusable)
      : await openSqliteStore(options.dbPath).catch(unusable));
  const bus =
    options.bus ??
    (options.databaseUrl
      ? await PgStatusBus.connect(options.databaseUrl, {
          ...(options.postgresSchema ? { channel: `${options.postgresSchema}_status` } : {}),
          onError: (error) => app.log.warn({ err: error }, 'status bus connection lost; reconnecting'),
        }).catch(unusable)
      : new MemoryStatusBus());
  const merchantList = options.merchants ?? [demoMerchant(new SandboxProvider({ delayMs: options.sandboxDelayMs ?? 3_000 }), options.allowedOrigins)];
  for (const merchant of merchantList) {
    if (merchant.secretKeys.length === 0) merchant.secretKeys = [await store.getOrSetSetting(`secret_key:${merchant.id}`, generateSecretKey()).catch(unusable)];
  }
  const merchants = new MerchantRegistry(merchantList);
  const providerNames = [...new Set(merchants.providers().map((provider) => provider.name))];
  for (const warning of callbackSetupWarnings(providerNames, options.publicUrl, options.callbackToken !== undefined)) app.log.warn(warning);
  // The first writes (a read-only file or role fails here): named as the database's, as opening is.
  const callbackToken = options.callbackToken ?? (await store.getOrSetSetting('callback_token', randomBytes(24).toString('hex')).catch(unusable));
  // The relay's own URL for provider callbacks: PUBLIC_URL, or the address it listens on. Worked
  // out once (a system call per push otherwise: about 1.5 % of the relay's CPU per payment), as
  // soon as the relay listens: once it is closing, it has no address any more to work out.
  let ownUrl: string | undefined;
  const baseUrl = () => (ownUrl ??= options.publicUrl ? options.publicUrl.replace(/\/+$/, '') : listeningUrl());
  app.server.once('listening', () => void baseUrl());
  const listeningUrl = () => {
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('PUBLIC_URL is needed when the relay is not listening on TCP');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  };
  const metrics = new RelayMetrics({ store, providers: providerNames });
  for (const provider of merchants.providers()) {
    provider.timeRequests?.((operation) => metrics.providerTimer(provider.name, operation));
    provider.hideCallbackToken?.(callbackToken);
  }
  const payments = new PaymentService({
    store,
    bus,
    merchants,
    callbackUrl: (provider) => `${baseUrl()}/v1/callbacks/${provider.name}/${callbackToken}`,
    schedule: options.checkSchedule ?? DEFAULT_CHECK_SCHEDULE,
    abuseLimits: { ...DEFAULT_ABUSE_LIMITS, ...options.abuseLimits },
    metrics,
    log: app.log,
  });
  const reconciler = new Poller(
    'reconciler',
    (limit) => payments.checkDue(limit),
    { tickMs: options.reconcileTickMs ?? 1_000, maxPerSecond: options.reconcileMaxPerSecond ?? DEFAULT_RECONCILE_MAX_PER_SECOND },
    app.log,
  );
  const deliverer = new WebhookDeliverer(store, merchants, { ...DEFAULT_WEBHOOK_RETRY, ...options.webhookRetry }, app.log, metrics);
  const webhooks = new Poller('webhooks', (limit) => deliverer.deliverDue(limit), { tickMs: options.webhookTickMs ?? 1_000 }, app.log);
  // An attempt that ends frees a slot of its merchant's 8: the next due webhook goes at once, not
  // at the next tick (a merchant with more than 8 due was held to 8 a second).
  deliverer.onRoom = () => webhooks.poke();

  app.decorate('store', store);
  app.decorate('bus', bus);
  app.decorate('merchants', merchants);
  app.decorate('payments', payments);
  app.decorate('metrics', metrics);
  app.decorate('callbackToken', callbackToken);
  app.decorate('sseStreams', new Set<OpenStream>());
  app.decorate('draining', false);

  // Fastify's own JSON parser (prototype-poisoning checks kept), keeping the raw text for
  // callback signatures.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON only: Fastify's text/plain parser would hand a route a string, which the body's schema
  // refuses as 400, where a body that is not JSON is a 415 (as a form body is).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    parseJson(request, body as string, (error, parsed) => {
      // Refused although it is JSON: a __proto__ or constructor key (prototype poisoning).
      if (error && isJson(body as string)) done(invalidField('body', 'must not have a __proto__ or constructor key'), undefined);
      else done(error, parsed);
    });
  });

  const corsShared = {
    methods: ['GET', 'POST'],
    allowedHeaders: ['content-type', 'x-publishable-key', 'idempotency-key', 'last-event-id', 'x-request-id'],
    exposedHeaders: ['retry-after', 'idempotent-replayed', 'x-request-id'],
    maxAge: 600,
  };
  // No CORS headers for a request without Origin (the bot, a merchant's server, curl): they mean
  // nothing there, and an event stream keeps its headers in memory for as long as it is open.
  // The relay's own origin check (routes) decides what such a request may do.
  const corsKnownOrigins = { ...corsShared, origin: (origin: string | undefined, callback: (error: null, allow: boolean) => void) => callback(null, origin !== undefined && merchants.isKnownOrigin(origin)) };
  // Creating a payment (and checking its terms) answers any origin, so that a checkout on a site
  // the merchant has not allowed can read the 403 that says so ("tell the shop"), where the browser
  // would otherwise hide the answer and the customer read "check your connection".
  const corsAnyOrigin = { ...corsShared, origin: (origin: string | undefined, callback: (error: null, allow: boolean) => void) => callback(null, origin !== undefined) };
  await app.register(cors, {
    delegator: (request, callback) => {
      // Every request passes here (streams and callbacks too): the URL is looked at only for a POST or a preflight.
      const creating = (request.method === 'POST' || request.method === 'OPTIONS') && CREATING_PATH.test(request.url ?? '');
      callback(null, creating ? corsAnyOrigin : corsKnownOrigins);
    },
  });
  // Heartbeats come from the event routes, one timer for every stream (routes/events.ts).
  await app.register(sse, { heartbeatInterval: 0 });
  await app.register(rateLimit, { global: false });

  await registerDocs(app);

  await app.register(healthRoutes);
  await app.register(paymentRoutes, { rateLimits: options.rateLimits ?? DEFAULT_RATE_LIMITS });
  await app.register(eventRoutes, { heartbeatMs: options.heartbeatMs });
  await app.register(callbackRoutes);
  // The demo page's Pay works, and moves no money, only when the demo key's merchant is the
  // sandbox's. Otherwise (a real provider, or a merchants file without that merchant) `/` says what
  // the relay is, with no checkout: a Pay there sent real prompts to any number a visitor typed.
  const sandboxDemo = merchants.byPublishableKey(DEMO_PUBLISHABLE_KEY)?.provider.name === 'sandbox';
  await app.register(siteRoutes, {
    widgetFile: options.widgetFile ?? DEFAULT_WIDGET_FILE,
    demoPublishableKey: options.demoPage !== false && sandboxDemo ? DEMO_PUBLISHABLE_KEY : undefined,
  });
  if (options.demoPage !== false && !sandboxDemo) {
    const page = relayPage(providerNames);
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(page));
  }

  app.addHook('onReady', async () => {
    reconciler.start();
    webhooks.start();
  });
  // Once closing, every answer closes its connection: a keep-alive client (a load balancer, a
  // provider's callback sender) would otherwise hold the server open until it hung up.
  app.addHook('onSend', async (_request, reply) => {
    if (app.draining) reply.header('connection', 'close');
  });
  app.addHook('preClose', async () => {
    app.draining = true;
    // The customers' streams first: they reconnect to another instance while this one finishes.
    await Promise.all([...app.sseStreams].map((stream) => stream.handOver()));
    await Promise.all([reconciler.stop(), webhooks.stop()]);
    // Webhook attempts in flight are cut short: recorded as failed, they are retried after the
    // restart (or by another instance), instead of holding the shutdown up to 10 s each.
    deliverer.abortInFlight();
    await deliverer.settle();
    // Until here new connections were taken (a provider's callback is still wanted). Now none are
    // (refused: nothing was sent, a client or balancer tries another instance). Those open stay
    // open idleGraceMs more (or until all have closed): a request that arrives on one meanwhile is
    // answered, with Connection: close (onSend), instead of finding its connection reset. Then
    // Fastify's server.close() ends what is still idle. (Node's http close would end the idle ones
    // at once: the listener is closed with net's, which Fastify's close then finds done.)
    if (!app.server.listening) return;
    NetServer.prototype.close.call(app.server);
    const graceUntil = performance.now() + (options.idleGraceMs ?? DEFAULT_IDLE_GRACE_MS);
    // Counted by the server itself: no listener or entry per connection, which every one of
    // thousands of open status streams would carry for its whole life.
    const openConnections = () => new Promise<number>((resolve) => app.server.getConnections((error, count) => resolve(error ? 0 : count)));
    while (performance.now() < graceUntil && (await openConnections()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  app.addHook('onClose', async () => {
    await payments.settle();
    storeClosed = true;
    for (const provider of merchants.providers()) provider.close?.();
    await bus.close();
    if (!options.store) await store.close();
  });
  return app;
}
