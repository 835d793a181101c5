#!/usr/bin/env node
// `pnpm start` (after the build): the relay, and beside it the Telegram bot when TELEGRAM_BOT_TOKEN
// is set. Without the token this *is* the relay: its CLI runs in this very process, so its output,
// signals and exit code are exactly those of `node server/dist/cli.js`. With the token both run as
// children; SIGINT/SIGTERM/SIGHUP to this process go to both, once, and when either exits the
// other is stopped; the exit code is the first non-zero one. (Only a SIGKILL of this process would
// leave them running, each in its own process group.)
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const relayCli = join(root, 'server', 'dist', 'cli.js');
const botCli = join(root, 'bot', 'dist', 'cli.js');

if (!process.env.TELEGRAM_BOT_TOKEN) {
  await import(pathToFileURL(relayCli).href);
} else {
  runBoth();
}

function runBoth() {
  const host = !process.env.HOST || process.env.HOST === '0.0.0.0' || process.env.HOST === '::' ? '127.0.0.1' : process.env.HOST;
  const relayUrl = `http://${host.includes(':') ? `[${host}]` : host}:${process.env.PORT || '8787'}`;
  // Each child in a process group of its own: a Ctrl-C at the terminal signals this process's
  // whole group, and a child there would get it twice (from the terminal, and passed on below),
  // which the relay takes as "exit now" instead of a graceful shutdown.
  const children = new Map([
    ['relay', spawn(process.execPath, [relayCli], { stdio: 'inherit', detached: true })],
    ['bot', spawn(process.execPath, [botCli], { stdio: 'inherit', detached: true, env: { ...process.env, RELAY_URL: process.env.RELAY_URL || relayUrl } })],
  ]);
  let stopping = false;
  let exitCode = 0;

  const stopAll = (signal) => {
    stopping = true;
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll(signal));
  for (const [name, child] of children) {
    child.on('exit', (code, signal) => {
      children.delete(name);
      // The first failure decides the exit code; a child killed by a signal we did not send failed.
      if (exitCode === 0) exitCode = code ?? (stopping ? 0 : 1);
      if (!stopping) {
        console.error(`stk-pay: the ${name} stopped (${signal ?? `exit code ${code}`}); stopping the ${[...children.keys()].join(', ')}`);
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit(exitCode);
    });
  }
}
