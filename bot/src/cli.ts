#!/usr/bin/env node
/** `stk-pay-bot`: runs the Telegram bot alone, against the relay at RELAY_URL. */
import { GrammyError, HttpError } from 'grammy';
import { ConfigError, loadBotConfig, type BotConfig } from './config.js';
import { consoleLogger } from './logger.js';
import { startBot, type RunningBot } from './run.js';

function explain(error: unknown, config: BotConfig): string {
  if (error instanceof GrammyError && error.error_code === 401) return 'TELEGRAM_BOT_TOKEN was refused by Telegram (401 Unauthorized): copy it again from BotFather';
  if (error instanceof GrammyError && error.method === 'setWebhook') return `BOT_WEBHOOK_URL was refused by Telegram: ${error.description}`;
  if (error instanceof HttpError) return `could not reach the Telegram Bot API${config.apiRoot ? ` at TELEGRAM_API_ROOT ${config.apiRoot}` : ''}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  let config: BotConfig;
  try {
    config = loadBotConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`stk-pay-bot: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = consoleLogger(config.logLevel);
  // A backstop: a promise nobody awaited that fails is logged; the customers' other chats go on.
  process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { error: reason }));
  let running: RunningBot;
  try {
    running = await startBot({ ...config, log });
  } catch (error) {
    console.error(`stk-pay-bot: failed to start: ${explain(error, config)}`);
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  void running.failed.then((error) => {
    console.error(`stk-pay-bot: stopped receiving updates: ${explain(error, config)}`);
    process.exit(1);
  });

  const mode = config.webhook ? `webhook ${config.webhook.url} (listening on ${config.webhook.host}:${running.webhookPort})` : 'long polling';
  console.log(`stk-pay bot ready: @${running.username}  ${mode}  relay: ${config.relayUrl}  data: ${config.dataDir}`);
}

main().catch((error: unknown) => {
  console.error('stk-pay-bot: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
