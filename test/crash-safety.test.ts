/**
 * Crash safety with real processes: the relay (pushing through the Daraja double, which counts the
 * prompts it delivers) dies as `kill -9` would at a chosen point (STK_PAY_CRASH_AT), is restarted
 * on the same database and port, and must reach the right final state with one prompt, show it to
 * a reconnecting client, and deliver the merchant webhook once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { darajaSettings, startDarajaDouble, type DarajaDouble } from '../server/src/testing/doubles/daraja.js';
import { readSse } from '../server/src/testing/sse-client.js';
import { RECEIPT_PATTERN, waitForTerminal } from './support/api.js';
import { startMerchantHooks, type MerchantHooks } from './support/merchant-hooks.js';
import { startRelayProcess, type RelayProcess } from './support/relay-process.js';

const DARAJA = { consumerKey: 'crashKey', consumerSecret: 'crashSecret', shortcode: '174379', passkey: 'crashPasskey' };
const SECRET = 'sk_test_crash_safety_0123456789';

let double: DarajaDouble | undefined;
let hooks: MerchantHooks | undefined;
let relay: RelayProcess | undefined;
let dir: string | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && relay) console.error(`relay output:\n${relay.output()}`);
  await relay?.stop();
  await double?.close();
  await hooks?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  relay = double = hooks = dir = undefined;
});

/** A relay whose one merchant pays through the Daraja double, set to die at `crashAt`. */
async function crashingRelay(crashAt: string, customerDelayMs: number): Promise<RelayProcess> {
  double = await startDarajaDouble({ ...DARAJA, delayMs: customerDelayMs });
  hooks = await startMerchantHooks();
  dir = mkdtempSync(join(tmpdir(), 'stk-crash-'));
  const merchants = join(dir, 'merchants.json');
  writeFileSync(
    merchants,
    JSON.stringify({
      merchants: [
        {
          id: 'shop',
          name: 'Shop',
          publishableKeys: ['pk_test_crash0001'],
          secretKeys: ['${SHOP_SECRET_KEY}'],
          provider: {
            name: 'daraja',
            settings: darajaSettings(double.url, DARAJA),
          },
          webhookUrl: hooks.url,
        },
      ],
    }),
  );
  return startRelayProcess({ env: { STK_PAY_CONFIG: merchants, SHOP_SECRET_KEY: SECRET, STK_PAY_CRASH_AT: crashAt } });
}

function createPayment(url: string, idempotencyKey: string, phone = '0708374149') {
  return fetch(`${url}/v1/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_crash0001', 'idempotency-key': idempotencyKey },
    body: JSON.stringify({ amount: 250, phone, reference: 'INV-9' }),
  });
}

/** The merchant's view of a payment once it carries a review reason (or after 20 s). */
async function reviewedView(url: string, id: string): Promise<{ status: string; review?: { reason: string } }> {
  const merchantView = async () => (await (await fetch(`${url}/v1/payments/${id}`, { headers: { authorization: `Bearer ${SECRET}` } })).json()) as { status: string; review?: { reason: string } };
  const deadline = Date.now() + 20_000;
  let view = await merchantView();
  while (!view.review && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    view = await merchantView();
  }
  return view;
}

/** Waits until deliveries stop changing, then returns them. */
async function settledDeliveries(quietMs = 2_500, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (hooks!.deliveries.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  return hooks!.deliveries;
}

describe('kill -9 during a payment, then restart', () => {
  it('before the push: the retried request sends the one prompt and the payment is paid', async () => {
    relay = await crashingRelay('after_store', 500);
    await expect(createPayment(relay.url, 'crash-before-push-1')).rejects.toThrow();
    await relay.exited();
    expect(double!.prompts).toBe(0);
    await relay.restart({ STK_PAY_CRASH_AT: undefined });
    // The widget retries with the same Idempotency-Key after a network error.
    const retried = await createPayment(relay.url, 'crash-before-push-1');
    expect(retried.status).toBe(201);
    const { id } = (await retried.json()) as { id: string };
    const final = await waitForTerminal(relay.url, id, 15_000);
    expect(final.status).toBe('succeeded');
    expect(double!.prompts).toBe(1);
    expect((await settledDeliveries()).map((d) => d.eventId)).toHaveLength(1);
  });

  it('after the push was claimed but before it left: never sent, not even on a retried request; shown to the merchant for review', async () => {
    relay = await crashingRelay('after_push_claimed', 300);
    // The answer may or may not have gone out before the process died.
    await createPayment(relay.url, 'crash-after-claim-1').catch(() => undefined);
    await relay.exited();
    await relay.restart({ STK_PAY_CRASH_AT: undefined });
    // The widget retries with the same Idempotency-Key after a network error: the same payment.
    const retried = await createPayment(relay.url, 'crash-after-claim-1');
    expect(retried.status).toBe(201);
    const { id } = (await retried.json()) as { id: string };
    // The relay cannot tell whether the request left before the crash: it never sends it again, and
    // never calls the payment failed on its own word; the merchant is asked to look.
    const view = await reviewedView(relay.url, id);
    expect(view.status).toBe('pending');
    expect(view.review?.reason).toMatch(/answer was lost/);
    expect(double!.prompts).toBe(0);
    expect(hooks!.deliveries).toHaveLength(0);
  });

  it('after the provider accepted the push: never pushed again; the callback settles it after the restart', async () => {
    // The customer answers (and the double calls back) 5 s after the push: the restart comes first.
    relay = await crashingRelay('after_push_accepted', 5_000);
    const created = await createPayment(relay.url, 'crash-after-accept-1');
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await relay.exited();
    expect(double!.prompts).toBe(1);
    await relay.restart({ STK_PAY_CRASH_AT: undefined });
    const final = await waitForTerminal(relay.url, id, 20_000);
    expect(final.status).toBe('succeeded');
    expect(final.receipt).toMatch(RECEIPT_PATTERN);
    expect(double!.prompts).toBe(1);
    expect(await settledDeliveries()).toHaveLength(1);
  });

  it('after the provider accepted a push that never calls back: neither paid nor failed, shown to the merchant for review', async () => {
    relay = await crashingRelay('after_push_accepted', 300);
    const created = await createPayment(relay.url, 'crash-silent-1', '0700000005');
    const { id } = (await created.json()) as { id: string };
    await relay.exited();
    await relay.restart({ STK_PAY_CRASH_AT: undefined });
    const view = await reviewedView(relay.url, id);
    expect(view.status).toBe('pending');
    expect(view.review?.reason).toMatch(/answer was lost/);
    expect(double!.prompts).toBe(1);
    expect(hooks!.deliveries).toHaveLength(0);
  });

  it('after a callback was committed but not announced: a reconnecting client sees it, the webhook goes once', async () => {
    relay = await crashingRelay('after_callback_commit', 500);
    const created = await createPayment(relay.url, 'crash-after-callback-1');
    const { id } = (await created.json()) as { id: string };
    await relay.exited();
    await relay.restart({ STK_PAY_CRASH_AT: undefined });
    // EventSource reconnects with the last id it saw (the prompt being on the phone: seq 2).
    const stream = await readSse(`${relay.url}/v1/payments/${id}/events`, { headers: { 'last-event-id': '2' }, timeoutMs: 10_000 });
    expect(stream.ended).toBe(true);
    expect(JSON.parse(stream.messages.at(-1)!.data)).toMatchObject({ id, status: 'succeeded' });
    expect(double!.prompts).toBe(1);
    expect(await settledDeliveries()).toHaveLength(1);
  });

  it('while delivering the merchant webhook: delivered once after the restart', async () => {
    relay = await crashingRelay('before_webhook_post', 300);
    const created = await createPayment(relay.url, 'crash-webhook-1');
    const { id } = (await created.json()) as { id: string };
    await relay.exited(20_000);
    expect(hooks!.deliveries).toHaveLength(0);
    await relay.restart({ STK_PAY_CRASH_AT: undefined });
    // The dead instance's claim on the delivery lapses (15 s), then it goes out.
    const deliveries = await settledDeliveries(2_500, 40_000);
    expect(deliveries).toHaveLength(1);
    expect(JSON.parse(deliveries[0]!.body).data.id).toBe(id);
  }, 60_000);
});
