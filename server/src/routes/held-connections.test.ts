/**
 * One client holding the relay's connections: a request body that trickles in for ever, and
 * thousands of status streams opened on one payment id. Neither may hold memory and sockets for
 * as long as the client likes; a customer's own streams and payments are not cut.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readSse } from '../testing/sse-client.js';
import { startRelay, type StartedRelay } from '../testing/start-relay.js';
import { until } from '../testing/until.js';
import { MAX_STREAMS_PER_PAYMENT } from './events.js';

let relay: StartedRelay | undefined;
const sockets: Socket[] = [];
const aborts: AbortController[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const abort of aborts.splice(0)) abort.abort();
  await relay?.close();
  relay = undefined;
});

async function pay(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-publishable-key': 'pk_test_demo' }, body: JSON.stringify({ amount: 250, phone: '0708374149' }) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** Opens a status stream and resolves with its answer's status once its headers are in. */
async function open(url: string, id: string): Promise<Response> {
  const abort = new AbortController();
  aborts.push(abort);
  return fetch(`${url}/v1/payments/${id}/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
}

describe('connections one client holds', () => {
  it('closes a connection whose request body trickles in past the request deadline, and keeps a status stream open past it', async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000, requestTimeoutMs: 400, heartbeatMs: 200 });
    const { port } = new URL(relay.url);
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    let closedAt: number | undefined;
    socket.on('close', () => (closedAt = Date.now()));
    socket.on('error', () => undefined);
    // A body of 10,000 bytes (under the body limit), one byte every 100 ms: it would take 17 minutes.
    socket.write('POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Publishable-Key: pk_test_demo\r\nContent-Length: 10000\r\n\r\n');
    const trickle = setInterval(() => socket.writable && socket.write(' '), 100);
    const startedAt = Date.now();
    const id = await pay(relay.url);
    const stream = readSse(`${relay.url}/v1/payments/${id}/events`, { timeoutMs: 2_500 });
    try {
      await until(() => closedAt !== undefined, 'the trickling connection closed', 5_000);
    } finally {
      clearInterval(trickle);
    }
    expect(closedAt! - startedAt).toBeLessThan(3_000);
    // The stream outlived the deadline several times over, and heard its heartbeats.
    const reading = await stream;
    expect(reading.ended).toBe(false);
    expect(reading.messages[0]?.event).toBe('status');
    expect(reading.comments.length).toBeGreaterThan(3);
  });

  it(`answers 429 too_many_streams past ${MAX_STREAMS_PER_PAYMENT} open streams of one payment, and opens one again once another closes`, async () => {
    relay = await startRelay({ sandboxDelayMs: 60_000 });
    const id = await pay(relay.url);
    const streams = await Promise.all(Array.from({ length: MAX_STREAMS_PER_PAYMENT }, () => open(relay!.url, id)));
    expect(streams.map((response) => response.status)).toEqual(Array(MAX_STREAMS_PER_PAYMENT).fill(200));
    const refused = await fetch(`${relay.url}/v1/payments/${id}/events`, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('15');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    // Another payment's customer is not affected.
    const other = await pay(relay.url);
    expect((await open(relay.url, other)).status).toBe(200);
    // One of the first payment's streams closes: a stream can be opened again.
    aborts[0]!.abort();
    await until(() => relay!.app.bus.watchers(id) < MAX_STREAMS_PER_PAYMENT);
    expect((await open(relay.url, id)).status).toBe(200);
  });
});
