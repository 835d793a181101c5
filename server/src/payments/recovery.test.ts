import { afterEach, describe, expect, it } from 'vitest';
import { demoMerchant } from '../app.js';
import { CountingSandbox } from '../testing/counting-sandbox.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { newPaymentId } from './service.js';

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

describe('a push whose relay is closing', () => {
  it('is sent with the callback address the relay had while it listened, not taken for a push that may have arrived', async () => {
    // Without PUBLIC_URL the callback URL is the listening address, gone once the relay closes:
    // the first push made after that (a SIGTERM right after the first payments) was never sent,
    // yet recorded as one whose outcome was unknown, pending for a day.
    const sandbox = new CountingSandbox({ delayMs: 60_000 });
    relay = await startRelay({ merchants: [demoMerchant(sandbox)] });
    await new Promise<void>((resolve) => relay!.app.server.close(() => resolve()));
    const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149' } });
    expect(created.statusCode).toBe(201);
    const payment = await waitForStatus(relay, created.json().id, 'awaiting_customer');
    expect(payment).toMatchObject({ status: 'awaiting_customer', pushState: 'sent', providerRef: expect.stringMatching(/^ws_CO_SBX_/) });
    expect(sandbox.pushes).toHaveLength(1);
    expect(sandbox.pushes[0]!.callbackUrl.startsWith(`${relay.url}/v1/callbacks/sandbox/`)).toBe(true);
  });
});

describe('a merchant that moved to another provider while a payment was open', () => {
  it("neither fails nor settles the payment on the new provider's word: it is held for review", async () => {
    // The payment went out through Daraja; the merchant now runs on the sandbox.
    relay = await startRelay({ reconcileTickMs: 60_000 });
    const { store } = relay.app;
    const id = newPaymentId();
    await store.createPayment({ id, merchantId: 'demo', amount: 250, phone: '254708374149', reference: null, description: null, provider: 'daraja', idempotencyKey: null, requestHash: null, nextCheckAt: null }, Date.now());
    await store.claimPush(id, Date.now(), Date.now() - 1);
    await store.updatePayment(id, { status: 'awaiting_customer', providerRef: 'ws_CO_191220191020363925' }, 'push', Date.now());
    // Checked now (or by the reconciler's own first pass, if it came first).
    await relay.app.payments.checkDue();
    const deadline = Date.now() + 5_000;
    while (!(await store.getPayment(id))?.reviewReason && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const payment = await store.getPayment(id);
    expect(payment).toMatchObject({ status: 'awaiting_customer', failureCode: null });
    expect(payment?.reviewReason).toMatch(/sent through daraja, which this merchant no longer uses/);
    // A callback for it through the sandbox's route changes nothing either.
    const callback = { Body: { stkCallback: { CheckoutRequestID: 'ws_CO_191220191020363925', ResultCode: 1032, ResultDesc: 'Request cancelled by user' } } };
    await relay.app.inject({ method: 'POST', url: `/v1/callbacks/sandbox/${relay.app.callbackToken}`, payload: callback });
    expect((await store.getPayment(id))?.status).toBe('awaiting_customer');
  });

  it("the sandbox's status query answers nothing, not a failure, about a request it never made", async () => {
    const sandbox = new CountingSandbox({ delayMs: 50 });
    await expect(sandbox.queryStatus('ws_CO_191220191020363925')).rejects.toMatchObject({ kind: 'refused' });
  });
});

describe('a provider that contradicts the payment', () => {
  it('holds a payment the provider reports paid with another amount for review, neither paid nor failed', async () => {
    /** A provider whose status answer names another amount (a fee added, or a mix-up). */
    class OtherAmountSandbox extends CountingSandbox {
      override async queryStatus(providerRef: string) {
        const status = await super.queryStatus(providerRef);
        return status.status === 'succeeded' ? { ...status, amount: 1 } : status;
      }
    }
    relay = await startRelay({ merchants: [demoMerchant(new OtherAmountSandbox({ delayMs: 20 }))], reconcileTickMs: 20, checkSchedule: { promptWindowMs: 50 } });
    const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0700000005' } });
    const id = created.json().id as string;
    const deadline = Date.now() + 5_000;
    while (!(await relay.app.store.getPayment(id))?.reviewReason && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const payment = await relay.app.store.getPayment(id);
    expect(payment?.status).toBe('awaiting_customer');
    expect(payment?.reviewReason).toMatch(/KES 1 paid for a payment of KES 250/);
    const secret = relay.app.merchants.byId('demo')!.secretKeys[0]!;
    const merchantView = (await relay.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: { authorization: `Bearer ${secret}` } })).json();
    expect(merchantView.review.reason).toMatch(/KES 1/);
  });

  it('holds for review a payment whose callback says paid when the status query confirming it names another amount', async () => {
    class OtherAmountSandbox extends CountingSandbox {
      override async queryStatus(providerRef: string) {
        const status = await super.queryStatus(providerRef);
        return status.status === 'succeeded' ? { ...status, amount: 1 } : status;
      }
    }
    // The reconciler is kept out of it: only the callback's confirmation sees the amount.
    relay = await startRelay({ merchants: [demoMerchant(new OtherAmountSandbox({ delayMs: 20 }))], reconcileTickMs: 60_000 });
    const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0708374149' } });
    const id = created.json().id as string;
    const deadline = Date.now() + 5_000;
    while ((await relay.app.store.callbacksFor(id)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const payment = await relay.app.store.getPayment(id);
    expect(payment?.status).toBe('awaiting_customer');
    expect(payment?.receipt).toBeNull();
    expect(payment?.reviewReason).toMatch(/KES 1 paid for a payment of KES 250/);
  });

  it('keeps the receipt of a callback that arrives after a status query already settled the payment', async () => {
    relay = await startRelay({ sandboxDelayMs: 20, reconcileTickMs: 60_000 });
    const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount: 250, phone: '0700000005' } });
    const id = created.json().id as string;
    await relay.app.payments.settle();
    const pending = (await relay.app.store.getPayment(id))!;
    // The query settled it first, without a receipt (as Daraja's query does).
    await relay.app.store.updatePayment(id, { status: 'succeeded' }, 'query', Date.now());
    const callback = {
      Body: { stkCallback: { CheckoutRequestID: pending.providerRef, ResultCode: 0, ResultDesc: 'ok', CallbackMetadata: { Item: [{ Name: 'Amount', Value: 250 }, { Name: 'MpesaReceiptNumber', Value: 'LATE000001' }] } } },
    };
    const answer = await relay.app.inject({ method: 'POST', url: `/v1/callbacks/sandbox/${relay.app.callbackToken}`, payload: callback });
    expect(answer.json().verdict).toBe('duplicate');
    expect((await relay.app.store.getPayment(id))?.receipt).toBe('LATE000001');
  });
});

describe('a clock stepped forward after the push (a host that booted days behind, then NTP)', () => {
  it('goes on asking about a payment that looks a day old after only a few checks', async () => {
    const sandbox = new CountingSandbox({ delayMs: 50 });
    relay = await startRelay({ merchants: [demoMerchant(sandbox)], reconcileTickMs: 20 });
    // Pushed, its answer lost (no reference), checked three times; the clock then jumped 2 days.
    const id = await storeUnsentPayment(relay, Date.now() - 2 * 24 * 3600_000);
    await relay.app.store.updatePayment(id, { status: 'awaiting_customer', pushState: 'sent', checkAttempts: 3, nextCheckAt: Date.now() }, 'push', Date.now());

    const deadline = Date.now() + 5_000;
    let payment = await relay.app.store.getPayment(id);
    while (payment?.checkAttempts === 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      payment = await relay.app.store.getPayment(id);
    }
    expect(payment?.checkAttempts).toBe(4);
    // Asked again at the day's slowest pace, not given up.
    expect(payment?.nextCheckAt).toBeGreaterThan(Date.now() + 10 * 60_000);
    expect(payment?.status).toBe('awaiting_customer');
  });
});
