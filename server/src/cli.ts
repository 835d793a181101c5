#!/usr/bin/env node
/** `stk-pay`: runs the relay from environment settings. The only place that listens. */
import { buildApp, DatabaseUnusableError, demoMerchant } from './app.js';
import { ConfigError, loadConfig, trustProxyOption } from './config.js';
import { DEFAULT_RATE_LIMITS } from './routes/payments.js';
import { batchedStdout } from './log-stream.js';
import { loadMerchantsFile } from './merchants-file.js';
import { providerFromEnv } from './providers/index.js';

async function main(): Promise<void> {
  let config;
  let merchants;
  try {
    config = loadConfig();
    const env = { ...process.env, SANDBOX_DELAY_MS: String(config.SANDBOX_DELAY_MS), SANDBOX_ABUSE_RULES: config.SANDBOX_ABUSE_RULES };
    merchants = config.STK_PAY_CONFIG
      ? loadMerchantsFile(config.STK_PAY_CONFIG, env)
      : [demoMerchant(providerFromEnv(config.STK_PAY_PROVIDER, env))];
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`stk-pay: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logStream = batchedStdout();
  // Which setting to look at when the database cannot be opened (never its value: a URL may hold a password).
  const databaseSetting = config.DATABASE_URL ? 'the PostgreSQL database (DATABASE_URL)' : `the SQLite file ${config.STK_PAY_DB} (STK_PAY_DB)`;
  const app = await buildApp({
    dbPath: config.STK_PAY_DB,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(config.PUBLIC_URL ? { publicUrl: config.PUBLIC_URL } : {}),
    ...(config.CALLBACK_TOKEN ? { callbackToken: config.CALLBACK_TOKEN } : {}),
    merchants,
    ...(config.TRUST_PROXY !== undefined ? { trustProxy: trustProxyOption(config.TRUST_PROXY)! } : {}),
    rateLimits: {
      perIp: config.RATE_LIMIT_PER_IP,
      perKey: config.RATE_LIMIT_PER_KEY,
      // The list replaces loopback's default exemption (the README says to keep 127.0.0.1 and ::1 in
      // it): an operator whose proxy on loopback is not trusted (TRUST_PROXY), or the benchmark,
      // must be able to count loopback too.
      exemptIps: config.RATE_LIMIT_EXEMPT_IPS?.split(',').map((ip) => ip.trim()).filter(Boolean) ?? DEFAULT_RATE_LIMITS.exemptIps,
    },
    reconcileMaxPerSecond: config.RECONCILE_MAX_PER_SECOND,
    logger: { level: config.LOG_LEVEL },
    logStream,
  }).catch((error: unknown) => {
    if (!(error instanceof DatabaseUnusableError)) throw error;
    throw new Error(`could not open ${databaseSetting}: ${error.message}`, { cause: error });
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: the operator will not wait for a shutdown that hangs.
      app.log.warn({ signal }, 'second signal while shutting down: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  await app.listen({ port: config.PORT, host: config.HOST }).catch((error: unknown) => {
    throw new Error(`could not listen on ${config.HOST}:${config.PORT} (HOST, PORT): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : config.PORT;
  const shown = config.PUBLIC_URL ?? `http://${config.HOST}:${port}`;
  const who = merchants.map((merchant) => `${merchant.id} (${merchant.provider.name})`).join(', ');
  const database = config.DATABASE_URL ? `PostgreSQL ${new URL(config.DATABASE_URL).host}` : config.STK_PAY_DB;
  console.log(`stk-pay relay ready: ${shown}  merchants: ${who}  database: ${database}`);
}

main().catch((error: unknown) => {
  console.error('stk-pay: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
