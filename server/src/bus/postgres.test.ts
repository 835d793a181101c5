import { afterEach, describe, expect, it } from 'vitest';
import { startFreezableHop } from '../testing/freezable-hop.js';
import { dropSchema, freshSchema, requirePostgres, TEST_DATABASE_URL } from '../testing/postgres.js';
import { readSse } from '../testing/sse-client.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { recordedVerdicts, until } from '../testing/until.js';
import { PgStatusBus } from './postgres.js';

const pgReady = await requirePostgres();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!pgReady)('PostgreSQL LISTEN/NOTIFY status bus', () => {
  it('delivers a notice published by one instance to a subscriber on another', async () => {
    const channel = `${freshSchema()}_status`;
    const one = await PgStatusBus.connect(TEST_DATABASE_URL, { channel });
    const two = await PgStatusBus.connect(TEST_DATABASE_URL, { channel });
    cleanups.push(() => one.close(), () => two.close());
    const heard = new Promise((resolve) => two.subscribe('pay_x', resolve));
    await one.publish({ paymentId: 'pay_x', seq: 7 });
    await expect(heard).resolves.toEqual({ paymentId: 'pay_x', seq: 7 });
  });

  it('replaces a LISTEN connection that went silent without closing (a NAT or firewall dropped it), and wakes every stream to re-read', async () => {
    // A TCP hop in front of PostgreSQL that can stop passing bytes on the connections open now,
    // without closing them, as a middlebox that forgot them does; new connections pass.
    const hop = await startFreezableHop(5432);
    cleanups.push(() => hop.close());
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${hop.port}`;
    const channel = `${freshSchema()}_status`;
    const errors: string[] = [];
    const behind = await PgStatusBus.connect(url.href, { channel, pingMs: 200, onError: (error) => errors.push(error.message) });
    const direct = await PgStatusBus.connect(TEST_DATABASE_URL, { channel });
    cleanups.push(() => behind.close(), () => direct.close());
    const heard: { seq: number }[] = [];
    behind.subscribe('pay_x', (notice) => heard.push(notice));

    hop.freezeOpen();
    await direct.publish({ paymentId: 'pay_x', seq: 7 });
    // Unheard on the frozen connection; the ping finds it silent, and the new one wakes the stream.
    await until(() => heard.length > 0, 'the subscriber woken after the silent connection was replaced');
    expect(heard[0]).toEqual({ paymentId: 'pay_x', seq: -1 });
    expect(errors[0]).toMatch(/silent/);
    // And it hears what comes next.
    await direct.publish({ paymentId: 'pay_x', seq: 8 });
    await until(() => heard.some((notice) => notice.seq === 8), 'the next notice heard');
  });

  it("streams to a customer on relay A the status that relay B's callback committed", async () => {
    const schema = freshSchema();
    cleanups.push(() => dropSchema(schema));
    const b: StartedRelay = await startRelay({ databaseUrl: TEST_DATABASE_URL, postgresSchema: schema, sandboxDelayMs: 600, reconcileTickMs: 60_000 });
    cleanups.push(() => b.close());
    // A's sandbox calls back to B's address, as a provider would through a load balancer.
    const a: StartedRelay = await startRelay({ databaseUrl: TEST_DATABASE_URL, postgresSchema: schema, sandboxDelayMs: 600, publicUrl: b.url, reconcileTickMs: 60_000 });
    cleanups.push(() => a.close());
    const created = await a.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149' } });
    const { id } = created.json() as { id: string };
    const reading = await readSse(`${a.url}/v1/payments/${id}/events`, { timeoutMs: 8_000 });
    expect(reading.ended).toBe(true);
    expect(JSON.parse(reading.messages.at(-1)!.data)).toMatchObject({ id, status: 'succeeded' });
    // B records the callback's verdict once it has applied it: a moment after the stream heard.
    expect(await recordedVerdicts(b.app.store, id, 1)).toEqual(['applied']);
  });
});
