/**
 * Runs the relay as `pnpm start` does: `node server/dist/cli.js` from the repository root, configured
 * only through its documented environment variables (PORT, HOST, STK_PAY_DB, SANDBOX_DELAY_MS).
 * The build (`pnpm run build`) must have run first.
 *
 * Every child is killed in afterAll (via stop()), when the test worker exits, and, as a last resort,
 * by the global teardown, which reads the pid files this module writes (see global-setup.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { freePort } from '../../server/src/testing/free-port.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repoRoot, 'server', 'dist', 'cli.js');

const HEALTHY_WITHIN_MS = 20_000;
const EXIT_WITHIN_MS = 5_000;
const OUTPUT_HEAD_CHARS = 16_000;
const OUTPUT_TAIL_CHARS = 24_000;

/** Settings that would make the relay differ from the `pnpm start` defaults; never inherited. */
const NOT_INHERITED = [
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'STK_PAY_DB',
  'DATABASE_URL',
  'STK_PAY_CONFIG',
  'STK_PAY_PROVIDER',
  'CALLBACK_TOKEN',
  'SANDBOX_DELAY_MS',
  'SANDBOX_ABUSE_RULES',
  'RATE_LIMIT_PER_IP',
  'RATE_LIMIT_PER_KEY',
  'RATE_LIMIT_EXEMPT_IPS',
  'TELEGRAM_BOT_TOKEN',
  'NODE_ENV',
  'NODE_OPTIONS',
];

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});


export interface RelayProcess {
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  readonly pid: number | undefined;
  /** What the relay printed (stdout and stderr: the first ~16 kB and the last ~24 kB), for failure messages. */
  output(): string;
  /** Sends `signal` and waits until the process is gone (SIGKILL after 5 s if it lingers). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the relay again on the same port and database file, and waits until it is healthy.
   * `env` changes its environment from now on (a value of undefined removes a variable).
   */
  restart(env?: Record<string, string | undefined>): Promise<void>;
  /** How the last process ended, once it has. */
  readonly lastExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process has exited (by itself, e.g. at a crash point). */
  exited(timeoutMs?: number): Promise<void>;
  /** Kills the relay (if running) and removes its temporary directory. */
  stop(): Promise<void>;
}

export interface StartRelayProcessOptions {
  /** Extra environment variables for the relay. */
  env?: Record<string, string>;
}

function pidDir(): string | undefined {
  try {
    return inject('relayPidDir');
  } catch {
    return undefined; // not running under the configured global setup
  }
}

export async function startRelayProcess(options: StartRelayProcessOptions = {}): Promise<RelayProcess> {
  if (!existsSync(cliPath)) {
    throw new Error(`${cliPath} is missing: run \`pnpm run build\` from the repository root first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'stk-pay-e2e-'));
  const dbPath = join(dir, 'stk-pay.sqlite');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let tail = '';
  let child: ChildProcess | undefined;
  let lastExit: RelayProcess['lastExit'];

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of NOT_INHERITED) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('VITEST')) delete env[name];
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    STK_PAY_DB: dbPath,
    SANDBOX_DELAY_MS: '300',
    ...options.env,
  });

  // The first lines (start-up, the payment's first steps) and the last ones are the useful ones.
  let head = '';
  const append = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (head.length < OUTPUT_HEAD_CHARS) head += text;
    else tail = (tail + text).slice(-OUTPUT_TAIL_CHARS);
  };
  const allOutput = () => (tail === '' ? head : `${head}\n[…]\n${tail}`);

  async function launch(): Promise<void> {
    const started = spawn(process.execPath, [cliPath], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    running.add(started);
    started.once('exit', (code, signal) => {
      running.delete(started);
      lastExit = { code, signal };
    });
    started.stdout?.on('data', append);
    started.stderr?.on('data', append);
    const pids = pidDir();
    if (pids !== undefined && started.pid !== undefined) writeFileSync(join(pids, String(started.pid)), cliPath);
    try {
      await waitHealthy(started);
    } catch (error) {
      await kill('SIGKILL');
      throw error;
    }
  }

  async function waitHealthy(started: ChildProcess): Promise<void> {
    const deadline = Date.now() + HEALTHY_WITHIN_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(
          `relay exited (${started.exitCode ?? started.signalCode}) before /healthz answered; its output:\n${allOutput()}`,
        );
      }
      try {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (response.status === 200) return;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`relay did not answer GET /healthz with 200 within ${HEALTHY_WITHIN_MS} ms (${last}); its output:\n${allOutput()}`);
  }

  async function kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const target = child;
    if (target === undefined || target.exitCode !== null || target.signalCode !== null) return;
    const exited = new Promise<void>((r) => target.once('exit', () => r()));
    target.kill(signal);
    const inTime = await Promise.race([exited.then(() => true), sleep(EXIT_WITHIN_MS).then(() => false)]);
    if (!inTime) {
      target.kill('SIGKILL');
      await exited;
    }
    const pids = pidDir();
    if (pids !== undefined && target.pid !== undefined) rmSync(join(pids, String(target.pid)), { force: true });
  }

  await launch().catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });

  return {
    url,
    port,
    dbPath,
    get pid() {
      return child?.pid;
    },
    get lastExit() {
      return lastExit;
    },
    output: allOutput,
    kill,
    async restart(changes?: Record<string, string | undefined>) {
      await kill('SIGKILL');
      for (const [name, value] of Object.entries(changes ?? {})) {
        if (value === undefined) delete env[name];
        else env[name] = value;
      }
      append(Buffer.from('\n--- restarted by the test ---\n'));
      await launch();
    },
    async exited(timeoutMs = 20_000) {
      const target = child;
      if (target === undefined || target.exitCode !== null || target.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => target.once('exit', () => resolve()));
      const inTime = await Promise.race([gone.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!inTime) throw new Error(`relay did not exit within ${timeoutMs} ms; its output:\n${allOutput()}`);
    },
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

declare module 'vitest' {
  export interface ProvidedContext {
    relayPidDir: string;
  }
}
