import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricValue } from '../testing/prometheus.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';

let relay: StartedRelay;
beforeEach(async () => {
  // A customer who never answers: only forged callbacks can arrive while the test runs.
  relay = await startRelay({ sandboxDelayMs: 60_000, callbackToken: 'test-callback-token-0123' });
});
afterEach(async () => {
  await relay.close();
});

async function openPayment(amount = 250) {
  const created = await relay.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount, phone: '0708374149' } });
  await relay.app.payments.settle();
  return (await relay.app.store.getPayment(created.json().id))!;
}

function stkCallback(checkoutRequestId: string, resultCode: number, amount?: number) {
  return {
    Body: {
      stkCallback: {
        MerchantRequestID: 'm-1',
        CheckoutRequestID: checkoutRequestId,
        ResultCode: resultCode,
        ResultDesc: resultCode === 0 ? 'The service request is processed successfully.' : 'Request cancelled by user',
        ...(resultCode === 0
          ? { CallbackMetadata: { Item: [{ Name: 'Amount', Value: amount ?? 250 }, { Name: 'MpesaReceiptNumber', Value: 'FORGED0001' }] } }
          : {}),
      },
    },
  };
}

function postCallback(body: unknown, token = 'test-callback-token-0123') {
  return relay.app.inject({ method: 'POST', url: `/v1/callbacks/sandbox/${token}`, payload: body as object });
}

describe('POST /v1/callbacks/:provider/:token', () => {
  it('refuses a wrong path token and changes nothing', async () => {
    const payment = await openPayment();
    const response = await postCallback(stkCallback(payment.providerRef!, 0), 'test-callback-token-9999');
    expect(response.statusCode).toBe(403);
    expect((await relay.app.store.getPayment(payment.id))?.status).toBe('awaiting_customer');
  });

  it('refuses an unknown provider', async () => {
    const response = await relay.app.inject({ method: 'POST', url: '/v1/callbacks/mpesa-magic/test-callback-token-0123', payload: {} });
    expect(response.statusCode).toBe(403);
  });

  it('counts refused callbacks in the metrics, labelled by a configured provider or `unknown`, never by what the path says', async () => {
    await postCallback({}, 'stale-token-from-a-dashboard');
    await postCallback({}, 'stale-token-from-a-dashboard');
    await relay.app.inject({ method: 'POST', url: '/v1/callbacks/mpesa-magic/stale-token-from-a-dashboard', payload: {} });
    await relay.app.inject({ method: 'POST', url: '/v1/callbacks/mpesa-magic/test-callback-token-0123', payload: {} });
    const text = (await relay.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(text, 'stk_pay_provider_callbacks_total', { provider: 'sandbox', verdict: 'forbidden' })).toBe(2);
    expect(metricValue(text, 'stk_pay_provider_callbacks_total', { provider: 'unknown', verdict: 'forbidden' })).toBe(1);
    expect(metricValue(text, 'stk_pay_provider_callbacks_total', { provider: 'unknown', verdict: 'unknown_provider' })).toBe(1);
    expect(text).not.toContain('mpesa-magic');
  });

  it('does not trust a forged success: the status query says the customer has not paid', async () => {
    const payment = await openPayment();
    const response = await postCallback(stkCallback(payment.providerRef!, 0));
    expect(response.statusCode).toBe(200);
    expect(response.json().verdict).toBe('unconfirmed');
    expect((await relay.app.store.getPayment(payment.id))?.status).toBe('awaiting_customer');
  });

  it('does not trust a forged failure either', async () => {
    const payment = await openPayment();
    await postCallback(stkCallback(payment.providerRef!, 1032));
    expect((await relay.app.store.getPayment(payment.id))?.status).toBe('awaiting_customer');
  });

  it('refuses a success callback whose amount differs from the payment', async () => {
    const payment = await openPayment(250);
    const response = await postCallback(stkCallback(payment.providerRef!, 0, 1));
    expect(response.json().verdict).toBe('rejected');
    const stored = await relay.app.store.getPayment(payment.id);
    expect(stored?.status).toBe('awaiting_customer');
    expect((await relay.app.store.callbacksFor(payment.id))[0]?.verdict).toMatch(/amount 1 is not 250/);
  });

  it('records a callback for a payment this relay never made and answers 200 so the provider stops', async () => {
    const response = await postCallback(stkCallback('ws_CO_SBX_abc_paid_0123456789ab', 0));
    expect(response.statusCode).toBe(200);
    expect(response.json().verdict).toBe('unknown_payment');
  });

  it('answers a body that is not a callback with 400 and records it', async () => {
    const response = await postCallback({ hello: 'world' });
    expect(response.statusCode).toBe(400);
    const malformed = await relay.app.inject({
      method: 'POST',
      url: '/v1/callbacks/sandbox/test-callback-token-0123',
      headers: { 'content-type': 'application/json' },
      payload: '{"Body":',
    });
    expect(malformed.statusCode).toBe(400);
  });
});
