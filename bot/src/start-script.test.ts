/**
 * `pnpm start` (scripts/start.mjs, after the build): the relay alone, or the relay and the bot
 * together when TELEGRAM_BOT_TOKEN is set, as real processes; a customer pays through both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../server/src/testing/free-port.js';
import { BOT_TOKEN, TelegramDouble } from './testing/telegram-double.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const startScript = join(root, 'scripts', 'start.mjs');

interface Started {
  child: ChildProcess;
  relayUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

let telegram: TelegramDouble;
let dir: string;
let started: Started | undefined;

beforeAll(() => {
  for (const built of ['server/dist/cli.js', 'bot/dist/cli.js']) {
    if (!existsSync(join(root, built))) throw new Error(`${built} is missing: run \`pnpm run build\` first`);
  }
});

beforeEach(async () => {
  telegram = await TelegramDouble.start();
  dir = mkdtempSync(join(tmpdir(), 'stk-pay-start-'));
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && started) console.error(`pnpm start output:\n${started.output()}`);
  if (started && started.child.exitCode === null && started.child.signalCode === null) {
    started.child.kill('SIGKILL');
    await started.exited;
  }
  started = undefined;
  await telegram.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>, options: { ownProcessGroup?: boolean } = {}): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [startScript], {
    cwd: root,
    // As a terminal runs it: the leader of its own process group, which Ctrl-C signals as a whole.
    detached: options.ownProcessGroup ?? false,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      STK_PAY_DB: join(dir, 'relay.sqlite'),
      SANDBOX_DELAY_MS: '300',
      LOG_LEVEL: 'warn',
      TELEGRAM_API_ROOT: telegram.url,
      BOT_DATA_DIR: join(dir, 'bot'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  started = { child, relayUrl: `http://127.0.0.1:${port}`, output: () => output, exited };
  return started;
}

async function relayHealthy(url: string): Promise<boolean> {
  return fetch(`${url}/healthz`).then((response) => response.ok, () => false);
}

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

describe('pnpm start', () => {
  it('runs the bot beside the relay when TELEGRAM_BOT_TOKEN is set, and stops both on SIGTERM', async () => {
    const { child, relayUrl, exited, output } = await start({ TELEGRAM_BOT_TOKEN: BOT_TOKEN });
    // A customer who writes as soon as the bot is up finds the relay answering: the bot starts once it does.
    await waitUntil('the bot polling Telegram', () => telegram.callsOf('getUpdates').length > 0);

    const user = telegram.user(5000);
    user.send('/pay 250 START-1');
    await user.waitForMessage(/Which M-Pesa number/);
    user.send('0708374149');
    const confirmation = await user.waitForMessage(/from M-Pesa/);
    user.press(confirmation, 'Pay');
    await telegram.waitFor('the receipt', () => /Paid KES 250 for START-1/.test(confirmation.text));

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await relayHealthy(relayUrl)).toBe(false);
    expect(output()).not.toMatch(/not answering/);
  });

  it('shuts the relay down gracefully on one Ctrl-C at the terminal (SIGINT to the whole process group), not as a second signal', async () => {
    const { child, relayUrl, exited, output } = await start({ TELEGRAM_BOT_TOKEN: BOT_TOKEN }, { ownProcessGroup: true });
    await waitUntil('the relay', () => relayHealthy(relayUrl));
    await waitUntil('the bot polling Telegram', () => telegram.callsOf('getUpdates').length > 0);
    // A request still arriving (half its body sent): the relay's shutdown waits for it, as for a
    // customer on a slow network, so a second signal would come while it is shutting down.
    const body = JSON.stringify({ amount: 250, phone: '0708374149' });
    const socket = connect(Number(new URL(relayUrl).port), '127.0.0.1');
    await new Promise((resolveConnect) => socket.once('connect', resolveConnect));
    socket.write(`POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Publishable-Key: pk_test_demo\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    process.kill(-child.pid!, 'SIGINT');
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    socket.end(body.slice(10));
    expect(await exited).toBe(0);
    expect(output()).not.toMatch(/second signal/);
    expect(await relayHealthy(relayUrl)).toBe(false);
  });

  it('runs the relay alone, as before, when TELEGRAM_BOT_TOKEN is not set', async () => {
    const { child, relayUrl, exited, output } = await start({});
    await waitUntil('the relay', () => relayHealthy(relayUrl));
    expect(output()).toContain(`stk-pay relay ready: ${relayUrl}`);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(telegram.calls).toHaveLength(0);
  });

  it('stops the relay and exits when the bot dies (here: a token Telegram refuses)', async () => {
    const { relayUrl, exited, output } = await start({ TELEGRAM_BOT_TOKEN: '999:a-token-telegram-does-not-know' });
    expect(await exited).toBe(1);
    expect(output()).toContain('stk-pay-bot: failed to start: TELEGRAM_BOT_TOKEN was refused by Telegram');
    expect(await relayHealthy(relayUrl)).toBe(false);
  });
});
