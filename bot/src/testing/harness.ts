/**
 * Everything a bot test needs, all real and all on 127.0.0.1: a relay (the server's own
 * `startRelay`, sandbox provider), the Bot API double, and the bot started as the CLI starts it,
 * with its data in a throw-away folder. `stopBot()` then `startBotAgain()` is a process restart on
 * the same folder; `stopRelay()` then `startRelayAgain()` the same for the relay. With `throughProxy`
 * the bot reaches the relay through a proxy whose misbehaviour a test chooses.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoMerchant } from '../../../server/src/app.js';
import { SandboxProvider } from '../../../server/src/providers/sandbox.js';
import { startRelay, type StartedRelay } from '../../../server/src/testing/start-relay.js';
import type { WebhookSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { startBot, type RunningBot } from '../run.js';
import { RelayProxy } from './relay-proxy.js';
import { BOT_TOKEN, TelegramDouble, type BotMessage, type TestUser } from './telegram-double.js';

export interface HarnessOptions {
  /** How long the sandbox customer takes to answer the prompt. */
  sandboxDelayMs?: number;
  /** The demo merchant accepts only amounts in signed checkout tokens. */
  requireToken?: boolean;
  webhook?: (telegram: TelegramDouble) => Promise<WebhookSettings>;
  /** The bot reaches the relay through `Harness.proxy`. */
  throughProxy?: boolean;
  /** Webhook mode: how long an update may take before its request is answered anyway. */
  webhookAnswerMs?: number;
  /** How long the bot waits for one answer from the relay (default 15 s). */
  relayTimeoutMs?: number;
}

export interface Harness {
  relay: StartedRelay;
  /** Between the bot and the relay, with `throughProxy`. */
  proxy: RelayProxy | undefined;
  telegram: TelegramDouble;
  bot: RunningBot;
  /** The demo merchant's secret key (signs checkout tokens). */
  secretKey: string;
  dataDir: string;
  /** What the bot logged (warnings and errors), for failure messages. */
  logs: string[];
  /** Stops the bot (as a process stop would: open payments stay on disk). */
  stopBot(): Promise<void>;
  /** Starts a new bot on the same data folder. */
  startBotAgain(): Promise<RunningBot>;
  /** Stops the relay; `startRelayAgain` brings it back on the same address and database. */
  stopRelay(): Promise<void>;
  startRelayAgain(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const secretKey = `sk_test_${randomBytes(16).toString('hex')}`;
  const delayMs = options.sandboxDelayMs ?? 400;
  const merchant = demoMerchant(new SandboxProvider({ delayMs }), [], secretKey);
  if (options.requireToken) merchant.amount = { ...merchant.amount, requireToken: true };
  const dataDir = mkdtempSync(join(tmpdir(), 'stk-pay-bot-'));
  const dbPath = join(dataDir, 'relay.sqlite');
  // Quick status checks, so a payment whose callback was lost in a relay restart ends soon.
  const relayOptions = { merchants: [merchant], reconcileTickMs: 200, checkSchedule: { promptWindowMs: 1_000 }, dbPath };
  const relay = await startRelay(relayOptions);
  const relayPort = Number(new URL(relay.url).port);
  let relayRunning = true;
  const proxy = options.throughProxy ? await RelayProxy.start(() => harness.relay.url) : undefined;
  const telegram = await TelegramDouble.start();
  const logs: string[] = [];
  const log: Logger = {
    info: () => {},
    warn: (message, fields) => void logs.push(`warn ${message} ${JSON.stringify(fields ?? {}, errorText)}`),
    error: (message, fields) => void logs.push(`error ${message} ${JSON.stringify(fields ?? {}, errorText)}`),
  };
  const webhook = options.webhook ? await options.webhook(telegram) : undefined;
  const start = () =>
    startBot({
      token: BOT_TOKEN,
      apiRoot: telegram.url,
      relayUrl: proxy?.url ?? relay.url,
      publishableKey: 'pk_test_demo',
      merchantId: 'demo',
      dataDir,
      log,
      pollTimeoutSeconds: 5,
      watcher: { retryDelaysMs: [100, 200, 400], recoverDelaysMs: [100, 200, 400] },
      // The double enforces Telegram's global limit (floodLimit), not the per-chat one: short tests.
      perChatIntervalMs: 20,
      ...(options.relayTimeoutMs !== undefined ? { relayTimeoutMs: options.relayTimeoutMs } : {}),
      ...(webhook ? { webhook } : {}),
      ...(options.webhookAnswerMs !== undefined ? { webhookAnswerMs: options.webhookAnswerMs } : {}),
    });
  const harness: Harness = {
    relay,
    proxy,
    telegram,
    bot: await start(),
    secretKey,
    dataDir,
    logs,
    async stopBot() {
      await harness.bot.stop();
    },
    async startBotAgain() {
      harness.bot = await start();
      return harness.bot;
    },
    async stopRelay() {
      await harness.relay.close();
      relayRunning = false;
    },
    async startRelayAgain() {
      harness.relay = await startRelay({ ...relayOptions, port: relayPort });
      relayRunning = true;
    },
    async close() {
      await harness.bot.stop();
      await telegram.close();
      await proxy?.close();
      if (relayRunning) await harness.relay.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

function errorText(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}

/** The relay's own record of a payment (the merchant's view), to check what the bot showed. */
export async function paymentsFor(harness: Harness, reference: string): Promise<{ id: string; status: string; amount: number; phone: string }[]> {
  const response = await fetch(`${harness.relay.url}/v1/payments?reference=${encodeURIComponent(reference)}&limit=100`, {
    headers: { authorization: `Bearer ${harness.secretKey}` },
  });
  if (!response.ok) throw new Error(`listing payments answered ${response.status}`);
  return ((await response.json()) as { data: { id: string; status: string; amount: number; phone: string }[] }).data;
}

/** /pay, then the phone typed, then the confirmation with its buttons (in English or Swahili). */
export async function offer(user: TestUser, command: string, phone: string): Promise<BotMessage> {
  user.send(command);
  await user.waitForMessage(/Which M-Pesa number|Namba gani ya M-Pesa/);
  const before = user.messages.length;
  user.send(phone);
  return user.waitForMessage(/from M-Pesa|kutoka M-Pesa/, { after: before });
}
