import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBotConfig } from './config.js';

const TOKEN = '123456789:AAE-the-rest-of-a-bot-token_x';

describe('bot settings', () => {
  it('default to long polling against the local relay with the demo key', () => {
    expect(loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN })).toEqual({
      token: TOKEN,
      relayUrl: 'http://127.0.0.1:8787',
      publishableKey: 'pk_test_demo',
      merchantId: 'demo',
      dataDir: './data/bot',
      logLevel: 'info',
    });
  });

  it('name the variable that is missing or malformed, without echoing a secret', () => {
    expect(() => loadBotConfig({})).toThrow(/^TELEGRAM_BOT_TOKEN must be set/);
    expect(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: 'secret-looking-thing' })).toThrow(/^TELEGRAM_BOT_TOKEN must be a bot token/);
    expect(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: 'secret-looking-thing' })).not.toThrow(/secret-looking-thing/);
    expect(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, RELAY_URL: 'localhost:8787' })).toThrow(/^RELAY_URL must be an http\(s\) URL/);
    expect(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, BOT_PUBLISHABLE_KEY: 'sk_live_oops' })).toThrow(/^BOT_PUBLISHABLE_KEY must be/);
    expect(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: 'nope' })).toThrow(/^TELEGRAM_API_ROOT must be/);
  });

  it('take a webhook only with its secret, over https unless on this machine', () => {
    const base = { TELEGRAM_BOT_TOKEN: TOKEN };
    expect(() => loadBotConfig({ ...base, BOT_WEBHOOK_URL: 'https://pay.example.com/tg' })).toThrow(/^BOT_WEBHOOK_SECRET must be set with BOT_WEBHOOK_URL/);
    expect(() => loadBotConfig({ ...base, BOT_WEBHOOK_SECRET: 'abc' })).toThrow(/^BOT_WEBHOOK_URL must be set/);
    expect(() => loadBotConfig({ ...base, BOT_WEBHOOK_URL: 'http://pay.example.com/tg', BOT_WEBHOOK_SECRET: 'abc' })).toThrow(/^BOT_WEBHOOK_URL must be an https URL/);
    expect(() => loadBotConfig({ ...base, BOT_WEBHOOK_URL: 'https://pay.example.com/tg', BOT_WEBHOOK_SECRET: 'has spaces' })).toThrow(/^BOT_WEBHOOK_SECRET must be 1 to 256/);
    expect(loadBotConfig({ ...base, BOT_WEBHOOK_URL: 'https://pay.example.com/tg', BOT_WEBHOOK_SECRET: 's3cret_-x', BOT_PORT: '9000' }).webhook).toEqual({
      url: 'https://pay.example.com/tg',
      secret: 's3cret_-x',
      host: '127.0.0.1',
      port: 9000,
    });
  });

  it('stop the CLI with one line naming the variable', () => {
    const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli], { env, encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stk-pay-bot: TELEGRAM_BOT_TOKEN must be set/)]);
  });
});
