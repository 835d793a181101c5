import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type StartedRelay } from './testing/start-relay.js';

const cli = fileURLToPath(new URL('./token-cli.ts', import.meta.url));
let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

describe('pnpm run token', () => {
  it("prints a token signed with the demo merchant's key from the relay's database, which the relay accepts", async () => {
    relay = await startRelay();
    const token = execFileSync(process.execPath, ['--import', 'tsx', cli, '--merchant', 'demo', '--amount', '250', '--reference', 'INV-9'], {
      env: { PATH: process.env['PATH'] ?? '', STK_PAY_DB: relay.dbPath },
      encoding: 'utf8',
    }).trim();
    expect(token).toMatch(/^ct1\./);
    const pay = (amount: number) =>
      relay!.app.inject({ method: 'POST', url: '/v1/payments', headers: { 'x-publishable-key': 'pk_test_demo' }, payload: { amount, phone: '0708374149', token } });
    expect((await pay(250)).statusCode).toBe(201);
    const edited = await pay(25);
    expect(edited.statusCode).toBe(400);
    expect(edited.json().error.details[0].field).toBe('amount');
  });
});
