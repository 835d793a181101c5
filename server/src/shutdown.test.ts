/**
 * Shutdown with clients on keep-alive connections (load balancers, the provider's callback sender):
 * a request in flight when the relay begins to close is answered, and its connection is closed
 * after it, so the relay can exit instead of waiting for the client to hang up (Fastify's
 * keep-alive timeout is 72 s).
 */
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startRelay } from './testing/start-relay.js';

describe('graceful shutdown', () => {
  it('answers a request in flight on a keep-alive connection with Connection: close, and finishes closing', async () => {
    const relay = await startRelay();
    const agent = new Agent({ keepAlive: true });
    const body = JSON.stringify({ amount: 250, phone: '0708374149' });
    const answered = new Promise<{ status: number | undefined; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        `${relay.url}/v1/payments`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-publishable-key': 'pk_test_demo' } },
        (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection }));
        },
      );
      req.on('error', reject);
      // Half the body now: the request is in flight when the relay starts closing.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 200);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = relay.close();
    const answer = await answered;
    expect(answer.status).toBe(503);
    expect(answer.connection).toBe('close');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => (timer = setTimeout(() => resolve('still open'), 10_000)))]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
    agent.destroy();
  });
});
