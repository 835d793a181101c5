#!/usr/bin/env node
// `pnpm start` (after the build): the relay, and beside it the Telegram bot when TELEGRAM_BOT_TOKEN
// is set. Without the token this *is* the relay: its CLI runs in this very process, so its output,
// signals and exit code are exactly those of `node server/dist/cli.js`. With the token both run as
// children, the bot once the relay answers; SIGINT/SIGTERM/SIGHUP to this process go to both, once,
// and when either exits the other is stopped; the exit code is the first non-zero one. (Only a
// SIGKILL of this process would leave them running, each in its own process group.)
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
  const children = new Map();
  let stopping = false;
  let exitCode = 0;

  const stopAll = (signal) => {
    stopping = true;
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    if (children.size === 0) process.exit(exitCode);
  };
  // Each child in a process group of its own: a Ctrl-C at the terminal signals this process's
  // whole group, and a child there would get it twice (from the terminal, and passed on below),
  // which the relay takes as "exit now" instead of a graceful shutdown.
  const start = (name, cli, env = process.env) => {
    const child = spawn(process.execPath, [cli], { stdio: 'inherit', detached: true, env });
    children.set(name, child);
    child.on('exit', (code, signal) => {
      children.delete(name);
      // The first failure decides the exit code; a child killed by a signal we did not send failed.
      if (exitCode === 0) exitCode = code ?? (stopping ? 0 : 1);
      if (!stopping) {
        const others = [...children.keys()];
        console.error(`stk-pay: the ${name} stopped (${signal ?? `exit code ${code}`})${others.length > 0 ? `; stopping the ${others.join(', ')}` : ''}`);
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit(exitCode);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll(signal));

  start('relay', relayCli);
  // The bot once the relay answers, so its first customers do not read "not answering".
  void (async () => {
    const until = Date.now() + 60_000;
    while (!stopping && children.has('relay')) {
      const healthy = await fetch(`${relayUrl}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((response) => response.ok, () => false);
      if (healthy || Date.now() > until) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!stopping && children.has('relay')) start('bot', botCli, { ...process.env, RELAY_URL: process.env.RELAY_URL || relayUrl });
  })();
}
