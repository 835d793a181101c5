/**
 * Assembles the bot: API plugins, per-chat ordering, the session on disk, the features (payments
 * in private chats only; a group gets a link to one), and the error layers (an error boundary around the payment features, one `bot.catch` for the rest).
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { sequentialize } from '@grammyjs/runner';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { Bot, session, type BotConfig as GrammyBotConfig, type BotError } from 'grammy';
import { join } from 'node:path';
import type { BotConfig } from './config.js';
import type { BotContext, SessionData } from './context.js';
import { cancel } from './features/cancel.js';
import { checkout } from './features/checkout.js';
import { group } from './features/group.js';
import { help } from './features/help.js';
import { language } from './features/language.js';
import { payment } from './features/payment.js';
import { phone } from './features/phone.js';
import { JsonFileStorage } from './file-storage.js';
import { STRINGS } from './i18n.js';
import type { Logger } from './logger.js';
import { isOpenPayment, PaymentWatcher, type OpenPayment, type WatcherOptions } from './payment-watcher.js';
import { RelayClient } from './relay-client.js';

export interface BotSettings extends Pick<BotConfig, 'token' | 'apiRoot' | 'relayUrl' | 'publishableKey' | 'merchantId' | 'dataDir'> {
  log: Logger;
  /** Skips `getMe` at start (tests that never start the bot). */
  botInfo?: GrammyBotConfig<BotContext>['botInfo'];
  /** Watcher timings (tests). */
  watcher?: Pick<WatcherOptions, 'idleMs' | 'retryDelaysMs' | 'recoverForMs' | 'recoverDelaysMs'>;
  /** Least time between two messages to one private chat (tests; default 1 s, Telegram's advice). */
  perChatIntervalMs?: number;
  /** How long one request to the relay may take (tests; default 15 s). */
  relayTimeoutMs?: number;
}

export interface PaymentBot {
  bot: Bot<BotContext>;
  watcher: PaymentWatcher;
  /** Updates being handled now (a stop waits for them). */
  updatesInHand(): number;
}

export function createBot(settings: BotSettings): PaymentBot {
  const { log } = settings;
  const bot = new Bot<BotContext>(settings.token, {
    ...(settings.botInfo ? { botInfo: settings.botInfo } : {}),
    ...(settings.apiRoot ? { client: { apiRoot: settings.apiRoot } } : {}),
  });
  // Telegram's limits are kept, not met with 429s, when many customers pay at once: messages
  // evenly spaced at 25 a second overall (Telegram allows about 30), one a second per chat (20 a
  // minute in a group). Installed first, so auto-retry's retries are spaced too.
  const perChatMs = settings.perChatIntervalMs ?? 1_000;
  bot.api.config.use(apiThrottler({ global: { minTime: 40 }, out: { maxConcurrent: 1, minTime: perChatMs } }));
  // Telegram's flood limits (429 with retry_after) and its passing 5xx are waited out. A network
  // error is not: auto-retry waits twice as long after each (up to an hour), and the bot stayed
  // deaf about as long after Telegram came back as it had been away. Long polling tries again
  // at a steady pace (run.ts), and the watcher keeps showing each payment until it can.
  bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 120, rethrowHttpErrors: true }));

  const relay = new RelayClient(settings.relayUrl, settings.publishableKey, settings.relayTimeoutMs);
  const watcher = new PaymentWatcher({
    api: bot.api,
    relay,
    store: new JsonFileStorage<OpenPayment>(join(settings.dataDir, 'open-payments'), { durable: true, accept: isOpenPayment }),
    log,
    ...settings.watcher,
  });

  // Counted from the first middleware to the last, in either mode (a webhook's request may be
  // answered while its update is still in hand).
  let inHand = 0;
  bot.use(async (_ctx, next) => {
    inHand += 1;
    try {
      await next();
    } finally {
      inHand -= 1;
    }
  });
  // Updates of one chat one at a time (the runner handles chats concurrently), so its session is
  // never read and written by two updates at once.
  bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));
  bot.use(session({ initial: (): SessionData => ({}), storage: new JsonFileStorage<SessionData>(join(settings.dataDir, 'sessions')) }));

  const privateChats = bot.chatType('private');
  privateChats.use(language);
  privateChats.errorBoundary(
    (error) => tellCustomer(error, log, 'a payment step failed'),
    checkout({ relay, merchantId: settings.merchantId, log }),
    cancel,
    phone,
    payment({ relay, watcher, log }),
  );
  privateChats.use(help);
  bot.chatType(['group', 'supergroup']).use(group);

  bot.catch((error) => tellCustomer(error, log, 'an update failed'));
  return { bot, watcher, updatesInHand: () => inHand };
}

/** Logs the error and tells the customer something useful, if the update came from one. */
async function tellCustomer(error: BotError<BotContext>, log: Logger, what: string): Promise<void> {
  const ctx = error.ctx;
  log.error(what, { updateId: ctx.update.update_id, error: error.error });
  const t = ctx.t ?? STRINGS.en;
  try {
    if (ctx.callbackQuery) await ctx.answerCallbackQuery().catch(() => undefined);
    if (ctx.chat) await ctx.reply(t.somethingWrong);
  } catch (replyError) {
    log.warn('could not tell the customer about an error', { error: replyError });
  }
}
