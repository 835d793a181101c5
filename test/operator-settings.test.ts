/**
 * The abuse limits an operator sets through the environment take effect in the relay as `pnpm start`
 * runs it: the per-key request limit (`RATE_LIMIT_PER_KEY`) and the abuse rules on sandbox payments
 * (`SANDBOX_ABUSE_RULES=on`), which are off by default so developers can repeat the test numbers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_PUBLISHABLE_KEY } from './support/api.js';
import { startRelayProcess, type RelayProcess } from './support/relay-process.js';

const started: RelayProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((relay) => relay.kill()));
});

async function relayWith(env: Record<string, string>): Promise<RelayProcess> {
  const relay = await startRelayProcess({ env: { SANDBOX_DELAY_MS: '60000', ...env } });
  started.push(relay);
  return relay;
}

function pay(relay: RelayProcess, phone: string, amount = 100): Promise<Response> {
  return fetch(`${relay.url}/v1/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-publishable-key': DEMO_PUBLISHABLE_KEY },
    body: JSON.stringify({ amount, phone }),
    signal: AbortSignal.timeout(5_000),
  });
}

describe('abuse limits set through the environment', () => {
  it('RATE_LIMIT_PER_KEY=3 lets three payments through a minute and answers the fourth 429 with Retry-After', async () => {
    const relay = await relayWith({ RATE_LIMIT_PER_KEY: '3' });
    const statuses = [];
    for (const phone of ['0711000001', '0711000002', '0711000003', '0711000004']) statuses.push((await pay(relay, phone)).status);
    expect(statuses.slice(0, 3)).toEqual([201, 201, 201]);
    const refused = await pay(relay, '0711000005');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('SANDBOX_ABUSE_RULES=on refuses a second prompt to a phone whose prompt is still open; off (the default) lets it through', async () => {
    const strict = await relayWith({ SANDBOX_ABUSE_RULES: 'on' });
    expect((await pay(strict, '0711000010', 100)).status).toBe(201);
    const second = await pay(strict, '0711000010', 120);
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('phone_busy');

    const lenient = await relayWith({});
    expect((await pay(lenient, '0711000010', 100)).status).toBe(201);
    expect((await pay(lenient, '0711000010', 120)).status).toBe(201);
  });
});
