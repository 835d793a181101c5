import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 8787,
      HOST: '127.0.0.1',
      STK_PAY_DB: './data/stk-pay.sqlite',
      STK_PAY_PROVIDER: 'sandbox',
      RATE_LIMIT_PER_IP: 60,
      RATE_LIMIT_PER_KEY: 600,
      SANDBOX_ABUSE_RULES: 'off',
      RECONCILE_MAX_PER_SECOND: 20,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(8787);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT must be a port number/],
    [{ PORT: '70000' }, /^PORT must be a port from 0 to 65535/],
    [{ PUBLIC_URL: 'pay.example.com' }, /^PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ PUBLIC_URL: 'ftp://pay.example.com' }, /^PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ PORT: ' ' }, /^PORT must be a port number/],
    [{ PORT: '1e3' }, /^PORT must be a port number/],
    [{ STK_PAY_PROVIDER: 'paypal' }, /^STK_PAY_PROVIDER must be one of sandbox, intasend/],
    [{ CALLBACK_TOKEN: 'short' }, /^CALLBACK_TOKEN must be 16 to 128 URL-safe characters/],
    [{ SANDBOX_DELAY_MS: '-1' }, /^SANDBOX_DELAY_MS must be at least 0/],
    [{ RATE_LIMIT_PER_KEY: '0' }, /^RATE_LIMIT_PER_KEY must be at least 1 request per minute/],
    [{ RATE_LIMIT_PER_IP: 'lots' }, /^RATE_LIMIT_PER_IP must be a number of requests per minute/],
    [{ SANDBOX_ABUSE_RULES: 'yes' }, /^SANDBOX_ABUSE_RULES must be on or off/],
    [{ RECONCILE_MAX_PER_SECOND: '0' }, /^RECONCILE_MAX_PER_SECOND must be more than 0 status queries per second/],
  ])('stops with one line naming the variable: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names a bad secret setting without showing its value', () => {
    for (const env of [{ DATABASE_URL: 'postgresql//shop:hunter2secret@db.example/pay' }, { CALLBACK_TOKEN: 'hunter2secret!!!' }]) {
      const name = Object.keys(env)[0]!;
      expect(() => loadConfig(env)).toThrow(new RegExp(`^${name} must be `));
      expect(() => loadConfig(env)).not.toThrow(/hunter2/);
    }
    // Others still show what was given, to help find the slip.
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/\(got "eighty"\)/);
  });
});
