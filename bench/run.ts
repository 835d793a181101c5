/**
 * Relay benchmarks. Prints throughput of the hot paths against a baseline measured in the same
 * run on the same app (GET /healthz, which does no work), so the figures are ratios that survive
 * a noisy shared machine; then the same on PostgreSQL when one answers (STK_PAY_TEST_DATABASE_URL
 * or 127.0.0.1:5432/test). Bounded in count and time; loopback only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type AppOptions } from '../server/src/app.js';
import { dropSchema, freshSchema, postgresUnavailable, TEST_DATABASE_URL } from '../server/src/testing/postgres.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2000);

async function timeIt(label: string, count: number, work: (i: number) => Promise<void>): Promise<number> {
  // Warm up, then measure.
  for (let i = 0; i < Math.min(100, count); i++) await work(-1 - i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await work(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = count / seconds;
  console.log(`  ${label.padEnd(42)} ${perSecond.toFixed(0).padStart(8)} req/s  (${((seconds / count) * 1e6).toFixed(0)} µs each)`);
  return perSecond;
}

/** One store's figures, printed: the baseline, creating a payment, reading one. */
async function benchStore(name: string, storeOptions: Partial<AppOptions>): Promise<void> {
  console.log(name);
  // A customer who never answers: the benchmark measures the relay, not the sandbox's timers.
  // Limits off: this measures the work of a payment, not the limiter's refusals.
  const app = await buildApp({ dbPath: ':memory:', sandboxDelayMs: 3_600_000, logger: false, demoPage: false, rateLimits: { perIp: 1e9, perKey: 1e9 }, ...storeOptions });
  await app.ready();
  try {
    const baseline = await timeIt('GET /healthz (baseline)', ROUNDS, async () => {
      await app.inject({ method: 'GET', url: '/healthz' });
    });
    const ids: string[] = [];
    const create = await timeIt('POST /v1/payments (store + push)', ROUNDS, async (i) => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/payments',
        headers: { 'x-publishable-key': 'pk_test_demo', 'idempotency-key': `bench-key-${i}-${Date.now()}` },
        payload: { amount: 100 + (Math.abs(i) % 50), phone: '0708374149', reference: `INV-${i}` },
      });
      if (response.statusCode !== 201) throw new Error(`create failed: ${response.statusCode} ${response.body}`);
      ids.push(response.json().id);
    });
    await app.payments.settle();
    const read = await timeIt('GET /v1/payments/:id', ROUNDS, async (i) => {
      await app.inject({ method: 'GET', url: `/v1/payments/${ids[Math.abs(i) % ids.length]}` });
    });
    console.log(`  create costs ${(baseline / create).toFixed(1)}× the baseline; read costs ${(baseline / read).toFixed(1)}×\n`);
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stk-pay-bench-'));
  try {
    await benchStore('SQLite (WAL, synchronous=FULL)', { dbPath: join(dir, 'bench.sqlite') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const unavailable = await postgresUnavailable();
  if (unavailable) {
    console.log(`PostgreSQL: skipped (${unavailable})`);
    return;
  }
  const schema = freshSchema();
  try {
    await benchStore('PostgreSQL (LISTEN/NOTIFY bus)', { databaseUrl: TEST_DATABASE_URL, postgresSchema: schema });
  } finally {
    await dropSchema(schema);
  }
}

await main();
