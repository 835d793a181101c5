import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildApp, callbackSetupWarnings } from './app.js';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** Runs the CLI with only the given settings (plus PATH), as an operator would start it. */
function start(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', STK_PAY_DB: ':memory:', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stderr: result.stderr.trim() };
}

describe('relay start-up with a bad setting', () => {
  it('stops with one line naming a malformed variable', () => {
    const { status, stderr } = start({ PORT: 'eighty' });
    expect(status).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^stk-pay: PORT must be a port number/);
  });

  it('stops with one line naming the database setting when the database cannot be opened, without its password', () => {
    const sqlite = start({ STK_PAY_DB: '/etc/passwd/stk-pay.sqlite' });
    expect(sqlite.status).toBe(1);
    expect(sqlite.stderr.split('\n')).toHaveLength(1);
    expect(sqlite.stderr).toMatch(/^stk-pay: failed to start: could not open the SQLite file \/etc\/passwd\/stk-pay\.sqlite \(STK_PAY_DB\): /);
    const postgres = start({ DATABASE_URL: 'postgres://shop:hunter2secret@127.0.0.1:1/pay' });
    expect(postgres.status).toBe(1);
    expect(postgres.stderr).toMatch(/^stk-pay: failed to start: could not open the PostgreSQL database \(DATABASE_URL\): .*ECONNREFUSED/);
    expect(postgres.stderr).not.toContain('hunter2');
  });

  it.skipIf(process.getuid?.() !== 0)('stops with one line naming the SQLite file when it can be read but not written (its first write fails, not its opening)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stk-pay-readonly-'));
    chmodSync(dir, 0o777);
    const dbPath = join(dir, 'stk-pay.sqlite');
    try {
      // A relay killed with its WAL open (as kill -9 leaves it), its files the relay user's; then the
      // database file alone made read-only. As another user: root writes anything.
      const app = await buildApp({ dbPath, logger: false, sandboxDelayMs: 100 });
      for (const file of readdirSync(dir)) chownSync(join(dir, file), 65534, 65534);
      chmodSync(dbPath, 0o444);
      const result = spawnSync(process.execPath, ['--import', 'tsx', cli], {
        env: { PATH: process.env['PATH'] ?? '', PORT: '0', STK_PAY_DB: dbPath },
        encoding: 'utf8',
        timeout: 15_000,
        uid: 65534,
        gid: 65534,
      });
      await app.close();
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toMatch(new RegExp(`^stk-pay: failed to start: could not open the SQLite file ${dbPath.replace(/[.]/g, '\\.')} \\(STK_PAY_DB\\): .*readonly`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with one line naming TRUST_PROXY or RATE_LIMIT_EXEMPT_IPS when an entry is not an address, a CIDR or a keyword (not blaming the database)', () => {
    for (const [name, value] of [
      ['TRUST_PROXY', 'loopbak'],
      ['TRUST_PROXY', '10.0.0.0/33'],
      ['TRUST_PROXY', '10.0.0.300'],
      ['RATE_LIMIT_EXEMPT_IPS', 'abc'],
      ['RATE_LIMIT_EXEMPT_IPS', '127.0.0.1, 10.1'],
    ]) {
      const { status, stderr } = start({ [name!]: value! });
      expect(status, `${name}=${value}`).toBe(2);
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`^stk-pay: ${name} must be`));
    }
  });

  it('stops with one line naming the provider setting that is missing', () => {
    const { status, stderr } = start({ STK_PAY_PROVIDER: 'upesipay', UPESIPAY_CHANNEL_ID: '2133' });
    expect(status).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/UPESIPAY_AUTH_TOKEN/);
  });
});

describe('relay logs', () => {
  it('writes its JSON log lines to stdout, the last ones before it exits on SIGTERM included', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli], {
      env: { PATH: process.env['PATH'] ?? '', PORT: '0', STK_PAY_DB: ':memory:' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const ready = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the relay exited (${code}): ${stdout}`)));
      child.stdout.on('data', () => {
        const match = /stk-pay relay ready: (http:\/\/\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
    });
    expect((await fetch(`${ready}/v1/payments/pay_unknown`, { headers: { 'x-request-id': 'cli-log-check' } })).status).toBe(404);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; reqId?: string });
    const request = lines.filter((line) => line.reqId === 'cli-log-check').map((line) => line.msg);
    expect([request[0], request.at(-1)]).toEqual(['incoming request', 'request completed']);
    // The line written while closing, just before exit, made it out.
    expect(lines.at(-1)?.msg).toBe('shutting down');
  });

  it('exits on SIGTERM when nothing reads its stdout any more (the log lines left are given up, not retried for ever)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli], {
      env: { PATH: process.env['PATH'] ?? '', PORT: '0', STK_PAY_DB: ':memory:' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      let stdout = '';
      const ready = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the relay exited (${code}): ${stdout}`)));
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /stk-pay relay ready: (http:\/\/\S+)/.exec(stdout);
          if (match) resolve(match[1]!);
        });
      });
      for (let i = 0; i < 5; i++) await (await fetch(`${ready}/healthz`)).text();
      // The relay's reader goes away (a log shipper restarted, the terminal closed) once its lines
      // so far are out; then SIGTERM: its last lines can only go to a pipe nobody reads (EPIPE).
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.stdout.destroy();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exited (${code ?? signal})`)));
      child.kill('SIGTERM');
      const outcome = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 10_000)))]);
      expect(outcome).toBe('exited (0)');
    } finally {
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
  }, 20_000);
});

/** Runs the CLI until it says it is ready, then `whileUp` against its URL; returns its output once it has exited on SIGTERM. */
async function runUntilReady(env: Record<string, string>, whileUp: (url: string) => Promise<void> = async () => {}): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', STK_PAY_DB: ':memory:', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the relay exited (${code}): ${output}`)));
      // Its own address, from Fastify's line: the ready line shows PUBLIC_URL when it is set.
      child.stdout.on('data', () => {
        const listening = /"Server listening at (http:\/\/[^"]+)"/.exec(output);
        if (listening && output.includes('stk-pay relay ready:')) resolve(listening[1]!.replace('0.0.0.0', '127.0.0.1'));
      });
    });
    await whileUp(url);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return output;
}

/** The warning lines (pino level 40) of a relay's output about its callback settings (not, say, readiness's about a provider nothing answers for). */
function warnings(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => line.level === 40 && /PUBLIC_URL|CALLBACK_TOKEN/.test(line.msg))
    .map((line) => line.msg);
}

const DARAJA_ENV = { STK_PAY_PROVIDER: 'daraja', DARAJA_BASE_URL: 'http://127.0.0.1:9', DARAJA_CONSUMER_KEY: 'ck_cli', DARAJA_CONSUMER_SECRET: 'cs_cli', DARAJA_SHORTCODE: '174379', DARAJA_PASSKEY: 'pk_cli' };
const INTASEND_ENV = { STK_PAY_PROVIDER: 'intasend', INTASEND_BASE_URL: 'http://127.0.0.1:9', INTASEND_PUBLISHABLE_KEY: 'ISPubKey_test_cli', INTASEND_SECRET_KEY: 'ISSecretKey_test_cli', INTASEND_WEBHOOK_CHALLENGE: 'cli-challenge' };

describe('relay start-up with a real provider whose callbacks cannot arrive', () => {
  it('warns in one line naming PUBLIC_URL when Daraja runs without it (listening on 0.0.0.0), and still starts', async () => {
    const output = await runUntilReady({ ...DARAJA_ENV, HOST: '0.0.0.0' });
    expect(warnings(output)).toEqual([expect.stringMatching(/^PUBLIC_URL is not set: .*daraja callbacks cannot arrive/)]);
  }, 30_000);

  it('warns naming CALLBACK_TOKEN when IntaSend runs without it, without printing the token it made up', async () => {
    const output = await runUntilReady({ ...INTASEND_ENV, PUBLIC_URL: 'https://pay.example.com' });
    expect(warnings(output)).toEqual([expect.stringMatching(/^CALLBACK_TOKEN is not set: .*intasend dashboard/)]);
    // The token made up is 48 hex digits; none is in the output, nor the provider's secrets.
    expect(output).not.toMatch(/[0-9a-f]{48}/);
    for (const secret of ['ISSecretKey_test_cli', 'cli-challenge']) expect(output).not.toContain(secret);
  }, 30_000);

  it('says nothing more for the sandbox, nor for a real provider set up as the README says', async () => {
    expect(warnings(await runUntilReady({}))).toEqual([]);
    expect(warnings(await runUntilReady({ ...INTASEND_ENV, PUBLIC_URL: 'https://pay.example.com', CALLBACK_TOKEN: 'cli-callback-token-0123' }))).toEqual([]);
  }, 40_000);

  it('names each setting that keeps callbacks away: PUBLIC_URL missing, on this machine, or (for Daraja) not https; CALLBACK_TOKEN for the providers whose dashboard holds the URL', () => {
    expect(callbackSetupWarnings(['sandbox'], undefined, false)).toEqual([]);
    for (const url of ['http://127.0.0.1:8787', 'https://localhost', 'http://[::1]:8787']) {
      expect(callbackSetupWarnings(['upesipay'], url, false), url).toEqual([expect.stringMatching(/^PUBLIC_URL names this machine/)]);
    }
    expect(callbackSetupWarnings(['daraja'], 'http://pay.example.com', false)).toEqual([expect.stringMatching(/^PUBLIC_URL is not https: Safaricom/)]);
    expect(callbackSetupWarnings(['daraja'], 'https://pay.example.com', false)).toEqual([]);
    expect(callbackSetupWarnings(['upesipay'], 'http://pay.example.com', false)).toEqual([]);
    expect(callbackSetupWarnings(['kulmipay', 'sandbox'], 'https://pay.example.com', false)).toEqual([expect.stringMatching(/^CALLBACK_TOKEN is not set: .*kulmipay dashboard/)]);
    expect(callbackSetupWarnings(['kulmipay'], 'https://pay.example.com', true)).toEqual([]);
  });
});

describe('relay start-up with RATE_LIMIT_EXEMPT_IPS', () => {
  const fourPayments = async (env: Record<string, string>): Promise<number[]> => {
    const statuses: number[] = [];
    await runUntilReady({ RATE_LIMIT_PER_IP: '2', ...env }, async (url) => {
      for (let i = 1; i <= 4; i++) {
        const response = await fetch(`${url}/v1/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' },
          body: JSON.stringify({ amount: 100 + i, phone: `07123400${i}0` }),
        });
        statuses.push(response.status);
      }
    });
    return statuses;
  };

  it('replaces the default: listed with the other host, loopback stays exempt (a bot beside the relay and one elsewhere)', async () => {
    expect(await fourPayments({ RATE_LIMIT_EXEMPT_IPS: '10.0.0.5, 127.0.0.1, ::1' })).toEqual([201, 201, 201, 201]);
  }, 30_000);

  it('replaces the default: without loopback in it, loopback is counted (a proxy on this host that is not trusted, the benchmark)', async () => {
    expect(await fourPayments({ RATE_LIMIT_EXEMPT_IPS: '10.0.0.5' })).toEqual([201, 201, 429, 429]);
  }, 30_000);
});
