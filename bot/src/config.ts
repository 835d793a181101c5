/**
 * The bot's settings, from the environment (names fixed in DESIGN.md, plus BOT_PORT, BOT_HOST,
 * BOT_DATA_DIR and BOT_MERCHANT_ID). A missing or malformed setting stops start-up with one line
 * naming the variable and what it expects; a secret's value is never echoed.
 */

export interface WebhookSettings {
  /** The public HTTPS URL Telegram posts updates to (`BOT_WEBHOOK_URL`). */
  url: string;
  /** Telegram sends it in `X-Telegram-Bot-Api-Secret-Token`; other requests are refused. */
  secret: string;
  /** Where the bot's webhook server listens (behind the proxy that serves `url`). */
  host: string;
  port: number;
}

export interface BotConfig {
  token: string;
  apiRoot?: string;
  relayUrl: string;
  publishableKey: string;
  merchantId: string;
  dataDir: string;
  webhook?: WebhookSettings;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function loadBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  // An empty variable counts as unset, as shells and .env files often leave them.
  const get = (name: string) => (env[name] === '' ? undefined : env[name]);
  const fail = (name: string, expected: string, shown?: string): never => {
    throw new ConfigError(`${name} must be ${expected}${shown === undefined ? '' : ` (got ${JSON.stringify(shown)})`}`);
  };
  const url = (name: string, value: string, https: 'required' | 'optional'): string => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      return fail(name, 'an absolute http(s) URL', value);
    }
    const allowedProtocols = https === 'required' && !LOOPBACK.has(parsed.hostname) ? ['https:'] : ['http:', 'https:'];
    if (!allowedProtocols.includes(parsed.protocol)) {
      return fail(name, https === 'required' ? 'an https URL (Telegram calls only https webhooks)' : 'an http(s) URL', value);
    }
    return value.replace(/\/+$/, '');
  };

  const token = get('TELEGRAM_BOT_TOKEN');
  if (token === undefined) fail('TELEGRAM_BOT_TOKEN', 'set to the token BotFather gave the bot (123456789:AA…)');
  if (!/^\d+:[A-Za-z0-9_-]{20,}$/.test(token!)) fail('TELEGRAM_BOT_TOKEN', "a bot token as BotFather gives it (digits, ':', then 20 or more letters, digits, - or _)");

  const apiRoot = get('TELEGRAM_API_ROOT');
  const relayUrl = url('RELAY_URL', get('RELAY_URL') ?? 'http://127.0.0.1:8787', 'optional');
  const publishableKey = get('BOT_PUBLISHABLE_KEY') ?? 'pk_test_demo';
  if (!/^pk_[A-Za-z0-9_]+$/.test(publishableKey)) fail('BOT_PUBLISHABLE_KEY', "the merchant's publishable key (pk_…)", publishableKey);
  const merchantId = get('BOT_MERCHANT_ID') ?? 'demo';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(merchantId)) fail('BOT_MERCHANT_ID', "the merchant's id in the relay's merchants file", merchantId);

  const webhookUrl = get('BOT_WEBHOOK_URL');
  const secret = get('BOT_WEBHOOK_SECRET');
  let webhook: WebhookSettings | undefined;
  if (webhookUrl !== undefined) {
    if (secret === undefined) fail('BOT_WEBHOOK_SECRET', 'set with BOT_WEBHOOK_URL (1 to 256 characters: letters, digits, - and _)');
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(secret!)) fail('BOT_WEBHOOK_SECRET', '1 to 256 characters: letters, digits, - and _');
    const portText = get('BOT_PORT') ?? '8788';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) fail('BOT_PORT', 'a port from 0 to 65535', portText);
    webhook = { url: url('BOT_WEBHOOK_URL', webhookUrl, 'required'), secret: secret!, host: get('BOT_HOST') ?? '127.0.0.1', port };
  } else if (secret !== undefined) {
    fail('BOT_WEBHOOK_URL', 'set when BOT_WEBHOOK_SECRET is (the public https URL Telegram posts updates to)');
  }

  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    fail('LOG_LEVEL', 'fatal, error, warn, info, debug, trace or silent', logLevel);
  }

  return {
    token: token!,
    ...(apiRoot !== undefined ? { apiRoot: url('TELEGRAM_API_ROOT', apiRoot, 'optional') } : {}),
    relayUrl,
    publishableKey,
    merchantId,
    dataDir: get('BOT_DATA_DIR') ?? './data/bot',
    ...(webhook ? { webhook } : {}),
    logLevel,
  };
}
