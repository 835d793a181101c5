/**
 * Relay throughput: `POST /v1/payments` on the relay as `pnpm start` runs it (sandbox provider,
 * SQLite; then PostgreSQL when one answers), against a bare Fastify JSON route set up the same way
 * (`bare-server.mjs`), each loaded by autocannon from this process on this machine's two cores.
 * Every request carries a distinct phone number and idempotency key; the relay runs with its abuse
 * rules on (`SANDBOX_ABUSE_RULES=on`) and its per-key and per-IP limits raised through its settings,
 * never switched off. The sandbox customer never answers during the run (`SANDBOX_DELAY_MS`), so
 * the figure is the work of taking a payment: validation, rules, the durable insert, the push and
 * its recorded answer, the log lines, and the reconciler's status checks that follow.
 *
 * On SQLite each round also measures the ceiling of any relay that stores payments as this one
 * does: the bare route plus the relay's own store doing one payment's reads and writes and nothing
 * else (`POST /stored` of `bare-server.mjs`), set up and loaded the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createSchema, dropSchema, freshSchema, postgresUnavailable, TEST_DATABASE_URL } from '../server/src/testing/postgres.js';
import { startBare, startRelay, type ServerProcess } from './lib/processes.js';
import { medianOfRuns, type Row } from './lib/results.js';

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 6);
/**
 * Rounds of bare route then relay, each on fresh processes (and a fresh database): this shared
 * machine's speed moves by half within minutes, so one pair can land on a fast and a slow moment.
 */
const RUNS = Number(process.env['BENCH_THROUGHPUT_RUNS'] ?? 3);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 10);
/** At least 40 % of bare Fastify on SQLite. */
export const GOAL_SHARE = 0.4;

/** Distinct Kenyan mobile numbers, clear of the sandbox's test numbers (0700000001–0700000008). */
let nextPhone = 0;
const phone = () => `07${String(20_000_000 + (nextPhone++ % 70_000_000)).padStart(8, '0')}`;

interface Load {
  perSecond: number;
  total: number;
  non2xx: number;
  errors: number;
  p99Ms: number;
}

/** autocannon against `path` for `seconds`, each request with a fresh phone number and key. */
function load(url: string, path: string, seconds: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path,
            setupRequest: (request) => {
              const number = phone();
              return {
                ...request,
                headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo', 'idempotency-key': `bench-${process.pid}-${number}-${nextPhone}` },
                body: JSON.stringify({ amount: 100 + (nextPhone % 900), phone: number, reference: `INV-${nextPhone}` }),
              };
            },
          },
        ],
      },
      (error, result) => {
        if (error) reject(error);
        else resolve({ perSecond: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors, p99Ms: result.latency.p99 });
      },
    );
  });
}

interface Measured extends Load {
  /** The server's CPU time (all its threads) per request of the measured run. */
  cpuMsPerRequest: number;
}

/** A short warm-up, then the measured run. */
async function measure(server: ServerProcess, path: string): Promise<Measured> {
  await load(server.url, path, 2);
  const cpuBefore = server.cpuMs();
  const result = await load(server.url, path, DURATION_S);
  const cpuMsPerRequest = (server.cpuMs() - cpuBefore) / result.total;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${path}: ${result.non2xx} answers were not 2xx and ${result.errors} requests failed; the server said:\n${server.output()}`);
  }
  return { ...result, cpuMsPerRequest };
}

const RELAY_SETTINGS = {
  SANDBOX_DELAY_MS: '600000',
  SANDBOX_ABUSE_RULES: 'on',
  RATE_LIMIT_PER_KEY: '1000000000',
  RATE_LIMIT_PER_IP: '1000000000',
  // Loopback (autocannon's address) is exempt from the per-IP limit by default: exempt another
  // address instead, so the limit is counted on every request as for a deployed relay's customers.
  RATE_LIMIT_EXEMPT_IPS: '192.0.2.1',
};

/** Makes the database of one round: the relay's settings for it, and how to drop it after. */
type FreshDatabase = () => Promise<{ settings: Record<string, string>; drop(): Promise<void> }>;

/** Makes the SQLite file of one round's ceiling, and how to remove it after. */
type CeilingFile = () => { file: string; drop(): Promise<void> };

interface Round {
  ours: Measured;
  baseline: Measured;
  /** The bare route plus one payment's store work (SQLite only). */
  ceiling?: Measured;
}

/** The bare server with the relay's SQLite store on `file`, loaded at `POST /stored`. */
async function measureCeiling(file: string): Promise<Measured> {
  const server = await startBare({ BARE_SQLITE: file });
  try {
    return await measure(server, '/stored');
  } finally {
    await server.stop();
  }
}

/** One round: the bare route, the ceiling when `ceilingFile` is given, then the relay on a database of its own. */
async function oneRound(label: string, database: FreshDatabase, ceilingFile?: CeilingFile): Promise<Round> {
  const bare = await startBare();
  let baseline: Measured;
  try {
    baseline = await measure(bare, '/json');
  } finally {
    await bare.stop();
  }
  let ceiling: Measured | undefined;
  if (ceilingFile) {
    const { file, drop } = ceilingFile();
    try {
      ceiling = await measureCeiling(file);
    } finally {
      await drop();
    }
  }
  const { settings, drop } = await database();
  let ours: Measured;
  try {
    const relay = await startRelay({ ...RELAY_SETTINGS, ...settings });
    try {
      ours = await measure(relay, '/v1/payments');
    } finally {
      await relay.stop();
    }
  } finally {
    await drop();
  }
  const withCeiling = ceiling ? `; bare route + one payment's store work ${ceiling.perSecond.toFixed(0)} req/s (${(ceiling.cpuMsPerRequest * 1000).toFixed(0)} µs of CPU each)` : '';
  console.log(`  ${label}: ${ours.perSecond.toFixed(0)} payments/s (p99 ${ours.p99Ms} ms) against bare Fastify ${baseline.perSecond.toFixed(0)} req/s (p99 ${baseline.p99Ms} ms)${withCeiling}`);
  return { ours, baseline, ...(ceiling ? { ceiling } : {}) };
}

async function oneStore(label: string, database: FreshDatabase, ceilingFile?: CeilingFile): Promise<Row[]> {
  const runs: Round[] = [];
  for (let run = 1; run <= RUNS; run++) runs.push(await oneRound(RUNS > 1 ? `${label}, run ${run} of ${RUNS}` : label, database, ceilingFile));
  const of = RUNS > 1 ? ` (median of ${RUNS} runs)` : '';
  const sqlite = label === 'SQLite';
  /** The medians of `measure` over the runs, of `ours` (the relay by default) and of the bare route, and each run's pair. */
  const medians = (measure: (figures: Measured) => number, ours: (run: Round) => Measured = (run) => run.ours) =>
    medianOfRuns(runs.map((run) => ({ value: measure(ours(run)), baseline: measure(run.baseline) })));
  const rate = medians((figures) => figures.perSecond);
  const cpu = medians((figures) => figures.cpuMsPerRequest * 1000);
  const share = rate.ratio;
  const ceilingRows: Row[] = [];
  if (runs.every((run) => run.ceiling)) {
    const ceiling = medians((figures) => figures.perSecond, (run) => run.ceiling!);
    ceilingRows.push({
      section: 'throughput',
      // What the goal could be at most for a relay that stores payments as this one does.
      figure: `ceiling: bare route + the relay's store doing one payment's ${label} work${of}`,
      ...ceiling,
      baselineName: 'bare Fastify JSON route',
      unit: 'req/s',
      goal: 'reported',
    });
  }
  return [
    {
      section: 'throughput',
      figure: `POST /v1/payments, sandbox, ${label}${of}`,
      ...rate,
      baselineName: 'bare Fastify JSON route',
      unit: 'req/s',
      ratio: share,
      goal: sqlite ? `≥ ${GOAL_SHARE * 100} % of bare` : 'reported',
      ...(sqlite ? { met: share >= GOAL_SHARE } : {}),
    },
    {
      section: 'throughput',
      figure: `server CPU per payment, ${label}${of}`,
      ...cpu,
      baselineName: 'per bare request',
      unit: 'µs',
      goal: 'reported',
    },
    ...ceilingRows,
  ];
}

export async function throughput(): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'stk-pay-bench-'));
  let files = 0;
  /** A fresh SQLite file in the run's folder, and how to remove it (and its WAL) after. */
  const sqliteFile = (name: string) => {
    const file = join(dir, `${name}-${++files}.sqlite`);
    const drop = async () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    };
    return { file, drop };
  };
  try {
    rows.push(
      ...(await oneStore(
        'SQLite',
        async () => {
          const { file, drop } = sqliteFile('bench');
          return { settings: { STK_PAY_DB: file }, drop };
        },
        () => sqliteFile('ceiling'),
      )),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const unavailable = await postgresUnavailable();
  if (unavailable) {
    // Said in the table (and RESULTS.md), not only in passing: the figure is missing, not good.
    console.log(`  PostgreSQL: skipped (${unavailable})`);
    const skipped = (figure: string, baselineName: string, unit: string): Row => ({ section: 'throughput', figure, value: Number.NaN, baselineName, baseline: Number.NaN, unit, ratio: Number.NaN, goal: `skipped: ${unavailable}` });
    rows.push(skipped('POST /v1/payments, sandbox, PostgreSQL', 'bare Fastify JSON route', 'req/s'), skipped('server CPU per payment, PostgreSQL', 'per bare request', 'µs'));
    return rows;
  }
  rows.push(
    ...(await oneStore('PostgreSQL', async () => {
      // The relay creates its tables on start; the search path puts them in a schema of the run's own.
      const schema = freshSchema();
      await createSchema(schema);
      return { settings: { DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}` }, drop: () => dropSchema(schema) };
    })),
  );
  return rows;
}
