import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** Runs the CLI with only the given settings (plus PATH), as an operator would start it. */
function start(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', STK_PAY_DB: ':memory:', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stderr: result.stderr.trim() };
}

describe('relay start-up with a bad setting', () => {
  it('stops with one line naming a malformed variable', () => {
    const { status, stderr } = start({ PORT: 'eighty' });
    expect(status).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^stk-pay: PORT must be a port number/);
  });

  it('stops with one line naming the provider setting that is missing', () => {
    const { status, stderr } = start({ STK_PAY_PROVIDER: 'upesipay', UPESIPAY_CHANNEL_ID: '2133' });
    expect(status).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/UPESIPAY_AUTH_TOKEN/);
  });
});
