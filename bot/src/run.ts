/**
 * Runs the bot: long polling (the grammY runner: chats handled concurrently, one chat's updates in
 * order) or, with a webhook configured, a small HTTP server that checks Telegram's secret-token
 * header. Payments left open by an earlier run are followed again before the first update.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { run, type RunnerHandle } from '@grammyjs/runner';
import { BotError } from 'grammy';
import type { Update } from 'grammy/types';
import { createBot, type BotSettings, type PaymentBot } from './bot.js';
import type { BotContext } from './context.js';
import type { WebhookSettings } from './config.js';
import { STRINGS } from './i18n.js';
import { REQUEST_TIMEOUT_MS } from './relay-client.js';

export interface RunSettings extends BotSettings {
  webhook?: WebhookSettings;
  /** Long-polling timeout in seconds (Telegram's getUpdates `timeout`). */
  pollTimeoutSeconds?: number;
  /** Webhook mode: an update still in hand after this long has its request answered (200) anyway. Default 9 s. */
  webhookAnswerMs?: number;
}

export interface RunningBot extends PaymentBot {
  username: string;
  /** The webhook server's address, in webhook mode. */
  webhookPort?: number;
  /** Settles if long polling stops by itself (e.g. Telegram refused the token); never in webhook mode. */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
/**
 * How long `stop()` waits for updates being handled to finish: longer than a relay request may
 * take, so a Pay waiting on a slow relay gets its payment and hands it to the watcher (and to disk)
 * before the bot stops, with time for the edit that shows it.
 */
const DRAIN_MS = REQUEST_TIMEOUT_MS + 5_000;

export async function startBot(settings: RunSettings): Promise<RunningBot> {
  const { bot, watcher, updatesInHand } = createBot(settings);
  const { log } = settings;
  // grammY keeps retrying getMe while Telegram cannot be reached; say so rather than sit silent.
  const waiting = setInterval(() => log.warn('still trying to reach the Telegram Bot API', { apiRoot: settings.apiRoot ?? 'https://api.telegram.org' }), 15_000);
  try {
    await bot.init();
  } finally {
    clearInterval(waiting);
  }
  await publishCommands(bot).catch((error: unknown) => log.warn('could not set the command list', { error }));
  const resumed = await watcher.resumeAll();
  if (resumed > 0) log.info('following payments left open by the last run', { count: resumed });

  let failed: (error: Error) => void = () => {};
  const failedPromise = new Promise<Error>((resolve) => (failed = resolve));
  let stopUpdates: () => Promise<void>;
  let webhookPort: number | undefined;

  if (settings.webhook) {
    const server = await serveWebhook(bot, settings.webhook, settings);
    const address = server.address();
    webhookPort = typeof address === 'object' && address ? address.port : settings.webhook.port;
    await bot.api.setWebhook(settings.webhook.url, { secret_token: settings.webhook.secret, allowed_updates: [...ALLOWED_UPDATES] });
    stopUpdates = () => new Promise((resolve) => server.close(() => resolve()));
  } else {
    await bot.api.deleteWebhook();
    logOutage(bot, log);
    const runner: RunnerHandle = run(bot, {
      runner: {
        fetch: { timeout: settings.pollTimeoutSeconds ?? 30, allowed_updates: [...ALLOWED_UPDATES] },
        // A steady second between tries while Telegram is out of reach (the runner's default
        // doubles without bound), so customers are heard again within a second of its return.
        retryInterval: POLL_RETRY_MS,
        silent: true,
      },
    });
    runner.task()?.catch((error: unknown) => failed(error instanceof Error ? error : new Error(String(error))));
    stopUpdates = async () => {
      if (runner.isRunning()) await runner.stop();
    };
  }

  return {
    bot,
    watcher,
    username: bot.botInfo.username,
    ...(webhookPort !== undefined ? { webhookPort } : {}),
    failed: failedPromise,
    updatesInHand,
    async stop() {
      await stopUpdates();
      // The updates already in hand finish (a Pay waiting on the relay gets its payment to disk).
      const until = Date.now() + DRAIN_MS;
      while (updatesInHand() > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      await watcher.stop();
    },
  };
}

const POLL_RETRY_MS = 1_000;

/** Says once when fetching updates starts failing (the runner, silent, tries every second) and when it works again. */
function logOutage(bot: PaymentBot['bot'], log: RunSettings['log']): void {
  let failing = false;
  bot.api.config.use(async (prev, method, payload, signal) => {
    if (method !== 'getUpdates') return prev(method, payload, signal);
    try {
      const result = await prev(method, payload, signal);
      if (failing) log.info('fetching updates from Telegram works again');
      failing = false;
      return result;
    } catch (error) {
      if (!failing && !signal?.aborted) log.warn(`cannot fetch updates from Telegram; trying every ${POLL_RETRY_MS / 1000} s`, { error });
      failing = true;
      throw error;
    }
  });
}

/** The command list users see in the menu, in English and in Swahili. */
async function publishCommands(bot: PaymentBot['bot']): Promise<void> {
  for (const lang of ['en', 'sw'] as const) {
    const t = STRINGS[lang];
    const commands = [
      { command: 'pay', description: t.commands.pay },
      { command: 'cancel', description: t.commands.cancel },
      { command: 'help', description: t.commands.help },
    ];
    await bot.api.setMyCommands(commands, lang === 'en' ? {} : { language_code: lang });
  }
}

/**
 * Telegram's webhook, answered by the bot itself: 200 once the update is handled or after
 * `webhookAnswerMs` (9 s, within Telegram's patience), whichever comes first, while the handling
 * goes on. A failure, before or after the answer, goes to the bot's error handler like one in long
 * polling (grammY's own webhookCallback rejects after its timeout, and that rejection reached no one).
 */
async function serveWebhook(bot: PaymentBot['bot'], webhook: WebhookSettings, settings: RunSettings): Promise<Server> {
  const path = new URL(webhook.url).pathname;
  const answerMs = settings.webhookAnswerMs ?? 9_000;
  const secret = Buffer.from(webhook.secret);
  const server = createServer((request, response) => {
    const requestPath = new URL(request.url ?? '/', 'http://bot').pathname;
    if (request.method !== 'POST' || requestPath !== path) {
      response.writeHead(404).end();
      return;
    }
    const given = Buffer.from(String(request.headers['x-telegram-bot-api-secret-token'] ?? ''));
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) {
      response.writeHead(401).end();
      return;
    }
    readUpdate(request).then(
      async (update) => {
        await settledOrAfter(handleUpdate(bot, update, settings.log), answerMs);
        // An update that failed is still answered 200, or Telegram would send it again and again.
        if (!response.headersSent) response.writeHead(200).end();
      },
      (error: unknown) => {
        settings.log.warn('bad webhook request', { error });
        if (!response.headersSent) response.writeHead(400).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(webhook.port, webhook.host, () => resolve());
  });
  return server;
}

const MAX_UPDATE_BYTES = 1024 * 1024;

async function readUpdate(request: IncomingMessage): Promise<Update> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_UPDATE_BYTES) throw new Error(`an update over ${MAX_UPDATE_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const update: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (typeof (update as Partial<Update> | null)?.update_id !== 'number') throw new Error('not an update');
  return update as Update;
}

/** Handles one update; never rejects: a failure goes to `bot.catch`, and one of that to the log. */
function handleUpdate(bot: PaymentBot['bot'], update: Update, log: RunSettings['log']): Promise<void> {
  return bot
    .handleUpdate(update)
    .catch(async (error: unknown) => {
      if (error instanceof BotError) await bot.errorHandler(error as BotError<BotContext>);
      else throw error;
    })
    .catch((error: unknown) => log.error('an update failed and its error handler too', { updateId: update.update_id, error }));
}

function settledOrAfter(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
