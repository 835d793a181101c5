import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite.js';
import { metricValue } from '../testing/prometheus.js';
import { readSse } from '../testing/sse-client.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function pay(url: string, phone: string): Promise<{ id: string }> {
  const response = await fetch(`${url}/v1/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' },
    body: JSON.stringify({ amount: 250, phone, reference: 'INV-9' }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string };
}

describe('GET /v1/payments/:id/events', () => {
  it('sends the current state at once, every change with an increasing id, and closes after a terminal state', async () => {
    relay = await startRelay({ sandboxDelayMs: 300 });
    const { id } = await pay(relay.url, '0708374149');
    const reading = await readSse(`${relay.url}/v1/payments/${id}/events`);
    expect(reading.ended).toBe(true);
    const ids = reading.messages.map((m) => Number(m.id));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(reading.messages.every((m) => m.event === 'status')).toBe(true);
    const last = JSON.parse(reading.messages.at(-1)!.data);
    expect(last).toMatchObject({ id, status: 'succeeded', seq: ids.at(-1) });
    expect(last.receipt).toMatch(/^[A-Z0-9]{10}$/);
  });

  it('resumes after Last-Event-ID with only the events after it', async () => {
    relay = await startRelay({ sandboxDelayMs: 200 });
    const { id } = await pay(relay.url, '0700000001');
    const full = await readSse(`${relay.url}/v1/payments/${id}/events`);
    const all = await relay.app.store.eventsAfter(id, 0);
    expect(all.map((e) => e.status)).toEqual(['pending', 'awaiting_customer', 'failed']);
    expect(JSON.parse(full.messages.at(-1)!.data).failure).toMatchObject({ code: 'cancelled' });

    const resumed = await readSse(`${relay.url}/v1/payments/${id}/events`, { headers: { 'last-event-id': '1' } });
    expect(resumed.messages.map((m) => Number(m.id))).toEqual([2, 3]);
    expect(resumed.ended).toBe(true);
  });

  it('keeps a resumed stream open when nothing happened since Last-Event-ID, and sends the next change', async () => {
    relay = await startRelay({ sandboxDelayMs: 1_000 });
    const { id } = await pay(relay.url, '0708374149');
    await relay.app.payments.settle();
    const latest = (await relay.app.store.latestEvent(id))!.seq;
    const resumed = await readSse(`${relay.url}/v1/payments/${id}/events`, { headers: { 'last-event-id': String(latest) }, timeoutMs: 5_000 });
    expect(resumed.ended).toBe(true);
    expect(resumed.messages.map((m) => Number(m.id))).toEqual([latest + 1]);
    expect(JSON.parse(resumed.messages[0]!.data).status).toBe('succeeded');
  });

  it('sends a resumed stream its headers at once, though it has nothing to send yet (a client on a slow network reconnecting)', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000 });
    const { id } = await pay(relay.url, '0708374149');
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'awaiting_customer');
    const latest = (await relay.app.store.latestEvent(id))!.seq;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5_000);
    try {
      // fetch resolves once the status line and headers arrive: before the fix, only with the
      // first heartbeat, 15 s later.
      const resumed = await fetch(`${relay.url}/v1/payments/${id}/events`, { headers: { accept: 'text/event-stream', 'last-event-id': String(latest) }, signal: controller.signal });
      expect(resumed.status).toBe(200);
      expect(resumed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  });

  it('sends the current state, and the end, to a Last-Event-ID past any event of the payment (a database restored from an older copy), on a stream that was held open for good', async () => {
    relay = await startRelay({ sandboxDelayMs: 100 });
    const { id } = await pay(relay.url, '0708374149');
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'succeeded');
    const { seq } = (await relay.app.store.getPayment(id))!;
    for (const lastEventId of [String(seq + 5), '2147483648', '9007199254740991']) {
      const resumed = await readSse(`${relay.url}/v1/payments/${id}/events`, { headers: { 'last-event-id': lastEventId }, timeoutMs: 3_000 });
      expect(resumed.ended, lastEventId).toBe(true);
      expect(resumed.messages.map((m) => Number(m.id)), lastEventId).toEqual([seq]);
      expect(JSON.parse(resumed.messages[0]!.data).status).toBe('succeeded');
    }
  });

  it('answers 204 to a client resuming after the final event (EventSource stops there), where the stream was held open for good', async () => {
    relay = await startRelay({ sandboxDelayMs: 100 });
    const { id } = await pay(relay.url, '0708374149');
    const full = await readSse(`${relay.url}/v1/payments/${id}/events`);
    expect(full.ended).toBe(true);
    const last = full.messages.at(-1)!.id;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 3_000);
    const resumed = await fetch(`${relay.url}/v1/payments/${id}/events`, { headers: { accept: 'text/event-stream', 'last-event-id': String(last) }, signal: controller.signal });
    clearTimeout(timer);
    expect(resumed.status).toBe(204);
    expect(await resumed.text()).toBe('');
    // Resuming before the final event still hears it.
    const earlier = await readSse(`${relay.url}/v1/payments/${id}/events`, { headers: { 'last-event-id': String(Number(last) - 1) } });
    expect(earlier.messages.map((m) => m.id)).toEqual([last]);
    expect(metricValue(await (await fetch(`${relay.url}/metrics`)).text(), 'stk_pay_sse_streams_open')).toBe(0);
  });

  it('sends a heartbeat comment while nothing changes', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000, heartbeatMs: 100 });
    const { id } = await pay(relay.url, '0708374149');
    // The push is answered in the background: once it is, nothing changes for a minute.
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'awaiting_customer', 'push answered');
    const reading = await readSse(`${relay.url}/v1/payments/${id}/events`, { until: (r) => r.comments.length >= 2, timeoutMs: 5_000 });
    expect(reading.comments.length).toBeGreaterThanOrEqual(2);
    expect(reading.messages).toHaveLength(1);
  });

  it('sends each stream a heartbeat only once it has been silent for the heartbeat interval, from one timer for all streams', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000, heartbeatMs: 300 });
    const payments = [await pay(relay.url, '0708374149'), await pay(relay.url, '0708374150')];
    for (const { id } of payments) await until(async () => (await relay!.app.store.getPayment(id))?.status === 'awaiting_customer', 'push answered');
    const started = performance.now();
    const readings = await Promise.all(payments.map(({ id }) => readSse(`${relay!.url}/v1/payments/${id}/events`, { until: (r) => r.comments.length >= 3, timeoutMs: 10_000 })));
    const elapsed = performance.now() - started;
    for (const reading of readings) {
      expect(reading.comments.length).toBeGreaterThanOrEqual(3);
      // A stream is silent at least 300 ms less one tick (25 ms) between two heartbeats: load can
      // only make them later, never more frequent.
      expect(reading.comments.length).toBeLessThanOrEqual(Math.floor(elapsed / 275) + 1);
      expect(reading.messages).toHaveLength(1);
    }
  });

  it('keeps the open streams in the order of their last writes, so the heartbeat sweep can stop at the first one not due', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000, heartbeatMs: 60_000 });
    const [a, b] = [await pay(relay.url, '0708374149'), await pay(relay.url, '0708374150')];
    for (const { id } of [a, b]) await until(async () => (await relay!.app.store.getPayment(id))?.status === 'awaiting_customer', 'push answered');
    const order = () => [...relay!.app.sseStreams].map((stream) => (stream as unknown as { paymentId: string }).paymentId);
    const readingA = readSse(`${relay.url}/v1/payments/${a.id}/events`, { timeoutMs: 2_000 });
    await until(async () => order().length === 1, 'stream A open');
    const readingB = readSse(`${relay.url}/v1/payments/${b.id}/events`, { timeoutMs: 2_000 });
    await until(async () => order().length === 2, 'stream B open');
    expect(order()).toEqual([a.id, b.id]);
    const [streamA] = [...relay.app.sseStreams];
    // A wrote its first event less than a second ago: not due for a second's silence (a sweep stops there).
    expect(streamA!.heartbeat(performance.now() - 1_000, performance.now())).toBe(false);
    // A is due now (silent since its first event): it gets a heartbeat and moves behind B.
    expect(streamA!.heartbeat(performance.now(), performance.now())).toBe(true);
    expect(order()).toEqual([b.id, a.id]);
    expect((await readingA).comments).toHaveLength(1);
    expect((await readingB).comments).toHaveLength(0);
  });

  it('forgets a stream whose client left while its payment was being read: neither counted open nor kept among the open streams', async () => {
    // The relay's own SQLite store, with a way to hold the route's read of the payment until the
    // client has gone.
    const dir = mkdtempSync(join(tmpdir(), 'stk-events-'));
    const real = await openSqliteStore(join(dir, 'store.sqlite'));
    let hold: Promise<void> | undefined;
    let held = false;
    const store = new Proxy(real, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (property !== 'getPayment') return typeof value === 'function' ? value.bind(target) : value;
        return async (paymentId: string) => {
          if (hold) {
            held = true;
            await hold;
          }
          return real.getPayment(paymentId);
        };
      },
    });
    relay = await startRelay({ store, sandboxDelayMs: 60_000 });
    const r = relay;
    const { id } = await pay(r.url, '0708374149');
    let release!: () => void;
    hold = new Promise<void>((resolve) => (release = resolve));
    const request = get(`${r.url}/v1/payments/${id}/events`, { headers: { accept: 'text/event-stream' }, agent: false });
    request.on('error', () => undefined);
    await until(() => held, 'the route reads the payment');
    request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    hold = undefined;
    release();
    await until(async () => r.app.sseStreams.size === 0 && metricValue(await (await fetch(`${r.url}/metrics`)).text(), 'stk_pay_sse_streams_open') === 0, 'stream forgotten');
    // And stays forgotten: nothing is left that would close it later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.app.sseStreams.size).toBe(0);
    expect(metricValue(await (await fetch(`${r.url}/metrics`)).text(), 'stk_pay_sse_streams_open')).toBe(0);
    await relay.close();
    relay = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams to a wildcard Accept (curl, fetch) too', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000 });
    const { id } = await pay(relay.url, '0708374149');
    const controller = new AbortController();
    const response = await fetch(`${relay.url}/v1/payments/${id}/events`, { headers: { accept: '*/*' }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    controller.abort();
  });

  it('answers 404 JSON for an unknown payment', async () => {
    relay = await startRelay();
    const response = await fetch(`${relay.url}/v1/payments/pay_AAAAAAAAAAAAAAAAAAAAAAAA/events`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('on shutdown tells open streams to reconnect soon (to another instance), then ends them', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000 });
    const { id } = await pay(relay.url, '0708374149');
    const reading = readSse(`${relay.url}/v1/payments/${id}/events`, { timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await relay.close();
    relay = undefined;
    const result = await reading;
    expect(result.ended).toBe(true);
    expect(result.messages.at(-1)?.event).toBe('reconnect');
  });

  it('hands a stream opened while the relay is closing over at once, so it cannot hold the closing relay open', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000 });
    const { id } = await pay(relay.url, '0708374149');
    await until(async () => (await relay!.app.store.getPayment(id))?.status === 'awaiting_customer', 'push answered');
    // Shutdown has begun and the open streams were handed over; a load balancer's kept-alive
    // connection still brings the client's reconnection here.
    relay.app.draining = true;
    const reading = await readSse(`${relay.url}/v1/payments/${id}/events`, { timeoutMs: 5_000 });
    expect(reading.ended).toBe(true);
    expect(reading.messages.map((message) => message.event)).toEqual(['status', 'reconnect']);
    expect(JSON.parse(reading.messages[0]!.data).status).toBe('awaiting_customer');
    expect(relay.app.sseStreams.size).toBe(0);
  });
});
