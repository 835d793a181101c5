/**
 * A proxy between the bot and the relay misbehaves, as nginx or a load balancer does during a
 * deploy or a reload, or the relay behind it is slow: the bot keeps following the payment it
 * showed, forgets a payment only when the relay itself says it has no such payment, and a Pay in
 * flight when the bot stops still ends up followed.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PaymentGoneError, RelayClient } from './relay-client.js';
import { offer, paymentsFor, startHarness, type Harness } from './testing/harness.js';
import type { RelayProxy } from './testing/relay-proxy.js';

let harness: Harness;
let proxy: RelayProxy;
let nextUser = 5000;

beforeAll(async () => {
  // The bot waits 1 s for an answer from the relay (15 s in production).
  harness = await startHarness({ sandboxDelayMs: 1_500, throughProxy: true, relayTimeoutMs: 1_000 });
  proxy = harness.proxy!;
});

afterAll(async () => {
  await harness?.close();
});

afterEach((context) => {
  proxy.rule = undefined;
  if (context.task.result?.state === 'fail') console.error(`bot logs:\n${harness.logs.join('\n')}`);
});

const openPaymentFiles = () => readdirSync(join(harness.dataDir, 'open-payments')).filter((name) => name.endsWith('.json'));

const NGINX_404 = '<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr>nginx</body></html>';

/** The proxy answers its own HTML 404 page to the first `times` requests whose path matches. */
function proxy404(path: RegExp, times: number): { served: number } {
  const count = { served: 0 };
  proxy.rule = (request, response) => {
    if (count.served >= times || !path.test(request.url ?? '')) return false;
    count.served += 1;
    response.writeHead(404, { 'content-type': 'text/html' }).end(NGINX_404);
    return true;
  };
  return count;
}

describe('a proxy in front of the relay', () => {
  it("never says nothing was sent after a Pay whose request may have reached the relay (a proxy's 502): Cancel and /cancel say to decline a prompt on the phone", async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 350 P502-1', '0708374149');
    // The relay took the payment (its prompt went out); the proxy lost the answer on the way back.
    proxy.rule = async (request, response) => {
      if (request.method !== 'POST' || request.url !== '/v1/payments') return false;
      let body = '';
      for await (const chunk of request) body += String(chunk);
      await fetch(`${harness.relay.url}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo', 'idempotency-key': String(request.headers['idempotency-key']) }, body });
      response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return true;
    };
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the outage message', () => /not answering right now/.test(confirmation.text));
    user.press(confirmation, 'Cancel');
    await harness.telegram.waitFor('the cancellation', () => /^Cancelled/.test(confirmation.text));
    expect(confirmation.text).toBe('Cancelled. If a PIN prompt is already on your phone, you can decline it there.');
    // The bot asks the relay again with the same key, and shows the prompt it had sent to its end.
    proxy.rule = undefined;
    await harness.telegram.waitFor('the receipt', () => /Paid KES 350 for P502-1/.test(confirmation.text));
    expect(await paymentsFor(harness, 'P502-1')).toHaveLength(1);
  });

  it('shows the payment, to the receipt, of a Pay whose answer the relay sent after the bot stopped waiting, with one prompt', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 360 LATE-1', '0708374149');
    // The relay takes the payment at once, but its answer comes after the bot's wait (a slow proxy).
    let held = 0;
    proxy.rule = async (request) => {
      if (request.method === 'POST' && request.url === '/v1/payments' && held++ === 0) await new Promise((resolve) => setTimeout(resolve, 3_000));
      return false;
    };
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 360 for LATE-1/.test(confirmation.text));
    expect(confirmation.history.some((text) => /not answering right now/.test(text))).toBe(true);
    expect(await paymentsFor(harness, 'LATE-1')).toHaveLength(1);
  });

  it("keeps following a payment through a proxy's HTML 404 on its status stream, to the receipt", async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 340 P404-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('check your phone', () => /Check your phone/.test(confirmation.text));
    const pages = proxy404(/\/events$/, 2);
    // A proxy reload: the stream breaks, and the reconnections meet the proxy's own 404 page.
    proxy.dropConnections();
    await harness.telegram.waitFor('the receipt', () => /Paid KES 340 for P404-1/.test(confirmation.text));
    expect(pages.served).toBe(2);
    expect(harness.logs.join('\n')).not.toMatch(/no longer following/);
    await harness.telegram.waitFor('the open payment removed from storage', () => openPaymentFiles().length === 0);
  });

  it('lets a Pay waiting on a slow relay finish when the bot is stopped, and the next start shows the payment to its end', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 350 SLOW-2', '0708374149');
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    proxy.rule = async (request) => {
      if (request.method === 'POST' && request.url === '/v1/payments') {
        held = true;
        await released;
      }
      return false;
    };
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the payment request held by the slow relay', () => held);
    const stopped = harness.stopBot();
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await stopped;
    const [payment] = await paymentsFor(harness, 'SLOW-2');
    expect(openPaymentFiles()).toContain(`${payment!.id}.json`);

    await harness.startBotAgain();
    await harness.telegram.waitFor('the receipt from the new bot', () => /Paid KES 350 for SLOW-2/.test(confirmation.text));
  });

  it('waits out a flood wait longer than auto-retry takes (retry_after 300) before editing again, without reopening the stream, and a stop ends the wait', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 390 FLOODWAIT-1', '0708374149');
    let streams = 0;
    proxy.rule = (request) => {
      if (/\/events$/.test(request.url ?? '')) streams += 1;
      return false;
    };
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('check your phone', () => /Check your phone/.test(confirmation.text));
    const [payment] = await paymentsFor(harness, 'FLOODWAIT-1');
    const edits = () => harness.telegram.callsOf('editMessageText').filter((call) => call.payload.chat_id === user.chatId).length;
    const editsBefore = edits();
    harness.telegram.floodWait(300);
    try {
      await harness.telegram.waitFor('the receipt edit refused', () => edits() > editsBefore);
      const streamsThen = streams;
      // Well past the watcher's reconnection delays (100-400 ms here): nothing more is tried.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(edits()).toBe(editsBefore + 1);
      expect(streams).toBe(streamsThen);
      await harness.stopBot();
      expect(openPaymentFiles()).toContain(`${payment!.id}.json`);
    } finally {
      harness.telegram.floodWait(0);
    }
    await harness.startBotAgain();
    await harness.telegram.waitFor('the receipt from the new bot', () => /Paid KES 390 for FLOODWAIT-1/.test(confirmation.text));
  });

  it("takes only the relay's own JSON 404 as a payment it does not know, on the stream and on GET", async () => {
    const relay = new RelayClient(proxy.url, 'pk_test_demo');
    const unknown = 'pay_0000000000000000000000';
    const signal = new AbortController().signal;
    await expect(relay.getPayment(unknown)).rejects.toBeInstanceOf(PaymentGoneError);
    await expect(relay.paymentEvents(unknown, { signal, idleMs: 5_000 }).next()).rejects.toBeInstanceOf(PaymentGoneError);

    proxy404(/\/v1\/payments\//, 2);
    const onGet = await relay.getPayment(unknown).catch((error: unknown) => error);
    const onStream = await relay.paymentEvents(unknown, { signal, idleMs: 5_000 }).next().catch((error: unknown) => error);
    expect(onGet).toBeInstanceOf(Error);
    expect(onGet).not.toBeInstanceOf(PaymentGoneError);
    expect(onStream).toBeInstanceOf(Error);
    expect(onStream).not.toBeInstanceOf(PaymentGoneError);
  });
});
