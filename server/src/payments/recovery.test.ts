import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { CountingSandbox } from '../testing/counting-sandbox.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { newPaymentId } from './service.js';
import { toView } from './view.js';

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** A payment as a relay leaves it when killed between storing it and sending the prompt. */
async function storeUnsentPayment(r: StartedRelay, createdAt: number) {
  const id = newPaymentId();
  await r.app.store.createPayment(
    { id, merchantId: 'demo', amount: 250, phone: '254708374149', reference: 'INV-9', description: null, provider: 'sandbox', idempotencyKey: null, requestHash: null, nextCheckAt: Date.now() },
    createdAt,
    toView,
  );
  return id;
}

async function waitForStatus(r: StartedRelay, id: string, status: string) {
  const deadline = Date.now() + 5_000;
  let payment = await r.app.store.getPayment(id);
  while (payment?.status !== status && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    payment = await r.app.store.getPayment(id);
  }
  return payment;
}

describe('a push lost in a restart', () => {
  it('is sent once by the reconciler while the customer may still be waiting', async () => {
    const sandbox = new CountingSandbox({ delayMs: 50 });
    relay = await startRelay({ merchants: [demoMerchant(sandbox)], reconcileTickMs: 20, checkSchedule: { promptWindowMs: 100 } });
    const id = await storeUnsentPayment(relay, Date.now() - 15_000);
    const payment = await waitForStatus(relay, id, 'succeeded');
    expect(payment?.status).toBe('succeeded');
    expect(sandbox.pushes.map((push) => push.paymentId)).toEqual([id]);
  });

  it('is not sent any more once the customer has surely left: it fails with no prompt sent', async () => {
    const sandbox = new CountingSandbox({ delayMs: 50 });
    relay = await startRelay({ merchants: [demoMerchant(sandbox)], reconcileTickMs: 20 });
    const id = await storeUnsentPayment(relay, Date.now() - 10 * 60_000);
    const payment = await waitForStatus(relay, id, 'failed');
    expect(payment).toMatchObject({ status: 'failed', failureCode: 'provider_error', pushState: 'refused' });
    expect(sandbox.pushes).toEqual([]);
  });

  it('a push already claimed is never sent a second time', async () => {
    const sandbox = new CountingSandbox({ delayMs: 50 });
    relay = await startRelay({ merchants: [demoMerchant(sandbox)], reconcileTickMs: 20, checkSchedule: { promptWindowMs: 100 } });
    const id = await storeUnsentPayment(relay, Date.now());
    expect(await relay.app.store.claimPush(id, Date.now(), Date.now() + 60_000)).toBe(true);
    expect(await relay.app.store.claimPush(id, Date.now(), Date.now() + 60_000)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sandbox.pushes).toEqual([]);
  });
});
