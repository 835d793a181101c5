import { afterEach, describe, expect, it } from 'vitest';
import { sandboxReceipt } from './sandbox.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { recordedVerdicts } from '../testing/until.js';

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function payAndWait(r: StartedRelay, phone: string, timeoutMs = 8_000) {
  const created = await r.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { 'x-publishable-key': 'pk_test_demo' },
    payload: { amount: 120, phone },
  });
  const { id } = created.json() as { id: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const payment = (await r.app.inject({ method: 'GET', url: `/v1/payments/${id}` })).json();
    if (payment.status === 'succeeded' || payment.status === 'failed' || Date.now() > deadline) return payment;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('sandbox provider outcomes, through the real callback route', () => {
  it.each([
    ['0708374149', 'succeeded', undefined],
    ['0722000000', 'succeeded', undefined],
    ['0700000001', 'failed', 'cancelled'],
    ['0700000002', 'failed', 'insufficient_funds'],
    ['0700000003', 'failed', 'wrong_pin'],
    ['0700000004', 'failed', 'unreachable'],
  ])('%s ends %s %s', async (phone, status, code) => {
    relay = await startRelay({ sandboxDelayMs: 100 });
    const payment = await payAndWait(relay, phone);
    expect(payment.status).toBe(status);
    if (code) expect(payment.failure.code).toBe(code);
    else expect(payment.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(await recordedVerdicts(relay.app.store, payment.id, 1)).toEqual(['applied']);
  });

  it('0700000005 sends no callback: the status query finds it paid', async () => {
    relay = await startRelay({ sandboxDelayMs: 100, checkSchedule: { promptWindowMs: 200 }, reconcileTickMs: 50 });
    const payment = await payAndWait(relay, '0700000005');
    expect(payment.status).toBe('succeeded');
    expect(payment.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(await relay.app.store.callbacksFor(payment.id)).toEqual([]);
    const events = await relay.app.store.eventsAfter(payment.id, 0);
    expect(events.at(-1)?.source).toBe('query');
  });

  it('0700000006 calls back twice: the payment succeeds once, the second callback is recorded as a duplicate', async () => {
    relay = await startRelay({ sandboxDelayMs: 100 });
    const payment = await payAndWait(relay, '0700000006');
    expect(payment.status).toBe('succeeded');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const verdicts = await recordedVerdicts(relay.app.store, payment.id, 2);
    expect(verdicts).toEqual(['applied', 'duplicate: already succeeded']);
    const events = await relay.app.store.eventsAfter(payment.id, 0);
    expect(events.filter((e) => e.status === 'succeeded')).toHaveLength(1);
  });

  it('gives the same receipt for the same reference', () => {
    expect(sandboxReceipt('ws_CO_SBX_x_paid_000000000000')).toBe(sandboxReceipt('ws_CO_SBX_x_paid_000000000000'));
    expect(sandboxReceipt('a')).not.toBe(sandboxReceipt('b'));
  });
});

describe('a restart loses no sandbox payment', () => {
  it('a payment whose callback was lost while the relay was down is resolved by the next relay on the same database', async () => {
    // The first relay stops before the customer answers: its callback is never delivered.
    const first = await startRelay({ sandboxDelayMs: 400, checkSchedule: { promptWindowMs: 500 } });
    const created = await first.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 99, phone: '0708374149' } });
    const { id } = created.json() as { id: string };
    await first.app.payments.settle();
    expect((await first.app.store.getPayment(id))?.status).toBe('awaiting_customer');
    await first.app.close();

    relay = await startRelay({ dbPath: first.dbPath, sandboxDelayMs: 400, checkSchedule: { promptWindowMs: 500 }, reconcileTickMs: 50 });
    const deadline = Date.now() + 5_000;
    let payment = await relay.app.store.getPayment(id);
    while (Date.now() < deadline && payment?.status !== 'succeeded') {
      await new Promise((resolve) => setTimeout(resolve, 50));
      payment = await relay.app.store.getPayment(id);
    }
    expect(payment?.status).toBe('succeeded');
    expect(payment?.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(await relay.app.store.callbacksFor(id)).toEqual([]);
  });
});
