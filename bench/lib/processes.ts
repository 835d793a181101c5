/**
 * The servers a benchmark measures, each in a process of its own as an operator runs it: the relay
 * (`node server/dist/cli.js`, configured only through its documented environment variables) and
 * the bare Fastify baseline (`bare-server.ts`). The benchmark's load comes from another process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../server/src/testing/free-port.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'server', 'dist', 'cli.js');
const barePath = join(repoRoot, 'bench', 'bare-server.mjs');
/** Both servers run with it: SIGUSR2 collects garbage (see `collectGarbage()`). */
const GC_ON_SIGNAL = ['--expose-gc', '--import', join(repoRoot, 'bench', 'lib', 'gc-on-signal.mjs')];

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resident memory of the process now, from /proc (bytes). */
  rssBytes(): number;
  /** CPU time the process has used so far (user + system, ms), from /proc. */
  cpuMs(): number;
  /** Asks the process for a full garbage collection (it runs it at its next turn). */
  collectGarbage(): void;
  /** The last lines it printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}


export function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
export function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function launch(args: string[], env: Record<string, string>, port: number, keepLogIn?: string): Promise<ServerProcess> {
  // Logs go to a pipe the benchmark drains and drops: both servers pay for their log lines alike.
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (keepLogIn) {
    const file = createWriteStream(keepLogIn, { flags: 'a' });
    child.stdout?.on('data', (chunk: Buffer) => file.write(chunk));
    child.once('exit', () => file.end());
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited (${child.exitCode}):\n${tail}`);
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} did not answer /healthz within 30 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    url,
    port,
    pid,
    rssBytes: () => rssOf(pid),
    cpuMs: () => cpuOf(pid),
    collectGarbage: () => process.kill(pid, 'SIGUSR2'),
    output: () => tail,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The relay as `pnpm start` runs it, with `env` as its settings. `BENCH_RELAY_NODE_ARGS` (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to its node command, to see where its time goes;
 * `BENCH_RELAY_LOG=<file>` appends its log lines to that file (otherwise they are dropped).
 */
export async function startRelay(env: Record<string, string>, port?: number): Promise<ServerProcess> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`pnpm run build\` first`);
  const nodeArgs = (process.env['BENCH_RELAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  return launch([...GC_ON_SIGNAL, ...nodeArgs, cliPath], env, port ?? (await freePort()), process.env['BENCH_RELAY_LOG'] || undefined);
}

/**
 * The bare Fastify baseline (same Fastify, logger and SSE plugin settings as the relay; plain JS,
 * no loader, as the relay's build). `BENCH_BARE_NODE_ARGS` go to its node command, as
 * `BENCH_RELAY_NODE_ARGS` to the relay's (e.g. `--heapsnapshot-signal=SIGPWR` to compare heaps).
 */
export async function startBare(env: Record<string, string> = {}): Promise<ServerProcess> {
  return launch([...GC_ON_SIGNAL, ...(process.env['BENCH_BARE_NODE_ARGS'] ?? '').split(' ').filter(Boolean), barePath], env, await freePort());
}
