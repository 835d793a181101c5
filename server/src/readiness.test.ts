import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { demoMerchant } from './app.js';
import { MerchantRegistry } from './merchants.js';
import { DarajaProvider } from './providers/daraja.js';
import { Readiness } from './readiness.js';
import { startHttpDouble, type HttpDouble } from './testing/doubles/http-double.js';

let double: HttpDouble | undefined;
afterEach(async () => {
  await double?.close();
  double = undefined;
});

const quiet = { warn: () => undefined } as never;
const store = { ping: async () => undefined };
const READY = { ready: true, providers: ['daraja'] };

function darajaAt(baseUrl: string, options: { now?: () => number } = {}): DarajaProvider {
  return new DarajaProvider({ baseUrl, consumerKey: 'ck', consumerSecret: 'cs', shortcode: '174379', passkey: 'pk', transactionType: 'CustomerPayBillOnline', partyB: '174379', ...options });
}

/** A Daraja OAuth endpoint (the `double`) that gives its token only once the returned release is called. */
async function hangingOAuth(): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  double = await startHttpDouble((app) => {
    app.get('/oauth/v1/generate', async () => {
      await released;
      return { access_token: 'token', expires_in: '3599' };
    });
  });
  return release;
}

/** The verdict and how long the probe took, in ms. */
async function timed(readiness: Readiness) {
  const started = performance.now();
  const verdict = await readiness.check();
  return { verdict, ms: performance.now() - started };
}

describe('Readiness', () => {
  it('keeps reporting refused provider keys while the next check of them is slow, and ready once a check passes', async () => {
    // Daraja's OAuth endpoint: refuses the keys, then answers slowly, then gives a token.
    let answer: 'refuse' | 'slow' = 'refuse';
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    double = await startHttpDouble((app) => {
      app.get('/oauth/v1/generate', async (_request, reply) => {
        if (answer === 'refuse') return reply.code(400).send({ errorCode: '400.008.01', errorMessage: 'Invalid Authentication passed' });
        await released;
        return { access_token: 'token-after-the-fix', expires_in: '3599' };
      });
    });
    const daraja = darajaAt(double.url);
    let now = 0;
    const readiness = new Readiness({ store, merchants: new MerchantRegistry([demoMerchant(daraja)]), log: quiet, cacheMs: 1_000, now: () => now });

    const refused = await readiness.check();
    expect(refused).toMatchObject({ ready: false, reason: expect.stringMatching(/^provider daraja \(merchant demo\): .*DARAJA_CONSUMER_KEY/) });

    // The keys are fixed, but the next check is slow: the refusal stands meanwhile.
    answer = 'slow';
    now += 1_000;
    expect(await readiness.check()).toEqual(refused);
    expect(await readiness.check()).toEqual(refused);

    release();
    await expect.poll(() => readiness.check()).toEqual({ ready: true, providers: ['daraja'] });
  });

  it('answers ready while the very first check of a provider is still running (no news is not a problem)', async () => {
    const release = await hangingOAuth();
    const readiness = new Readiness({ store, merchants: new MerchantRegistry([demoMerchant(darajaAt(double!.url))]), log: quiet, firstCheckMs: 50 });
    expect(await readiness.check()).toEqual({ ready: true, providers: ['daraja'] });
    release();
  });

  it('logs a store outage once when it starts and once when it ends, not at every probe', async () => {
    const lines: { level: string; msg: string }[] = [];
    const log = { warn: (_fields: unknown, msg: string) => lines.push({ level: 'warn', msg }), info: (_fields: unknown, msg: string) => lines.push({ level: 'info', msg }) } as never;
    let down = true;
    const flaky = {
      ping: async () => {
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    };
    const readiness = new Readiness({ store: flaky, merchants: new MerchantRegistry([]), log });

    for (let probe = 0; probe < 5; probe++) expect(await readiness.check()).toMatchObject({ ready: false, reason: expect.stringMatching(/store/) });
    down = false;
    for (let probe = 0; probe < 3; probe++) expect(await readiness.check()).toMatchObject({ ready: true });
    down = true;
    expect(await readiness.check()).toMatchObject({ ready: false });

    expect(lines).toEqual([
      { level: 'warn', msg: expect.stringMatching(/^readiness: the store does not answer/) },
      { level: 'info', msg: 'readiness: the store answers again' },
      { level: 'warn', msg: expect.stringMatching(/^readiness: the store does not answer/) },
    ]);
  });

  it('answers at once with the last verdict while the next check of a provider hangs, and runs one such check at a time', async () => {
    let hang = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    double = await startHttpDouble((app) => {
      app.get('/oauth/v1/generate', async () => {
        if (hang) await released;
        return { access_token: 'token', expires_in: '60' };
      });
    });
    let now = 0;
    const daraja = darajaAt(double.url, { now: () => now });
    const checks = vi.spyOn(daraja, 'checkSettings');
    const readiness = new Readiness({ store, merchants: new MerchantRegistry([demoMerchant(daraja)]), log: quiet, now: () => now });
    expect(await readiness.check()).toEqual(READY);

    // The token and the verdict are both out of date; the token endpoint now hangs.
    hang = true;
    now += 61_000;
    for (let probe = 0; probe < 3; probe++) {
      const { verdict, ms } = await timed(readiness);
      expect(verdict).toEqual(READY);
      expect(ms).toBeLessThan(500);
    }
    // Out of date again while that check still hangs: no second one piles up behind it.
    now += 31_000;
    expect((await timed(readiness)).ms).toBeLessThan(500);
    expect(checks).toHaveBeenCalledTimes(2);

    // Once it finishes, the verdicts age and are checked again as before.
    release();
    await checks.mock.results[1]!.value;
    await new Promise((resolve) => setImmediate(resolve));
    now += 31_000;
    expect(await readiness.check()).toEqual(READY);
    expect(checks).toHaveBeenCalledTimes(3);
  }, 20_000);

  it('waits about 1 s at most for the first check of a hanging provider, then answers ready (no news); probes meanwhile answer at once', async () => {
    const release = await hangingOAuth();
    const readiness = new Readiness({ store, merchants: new MerchantRegistry([demoMerchant(darajaAt(double!.url))]), log: quiet });
    const first = await timed(readiness);
    expect(first.verdict).toEqual(READY);
    expect(first.ms).toBeGreaterThan(800);
    expect(first.ms).toBeLessThan(2_000);
    const next = await timed(readiness);
    expect(next.verdict).toEqual(READY);
    expect(next.ms).toBeLessThan(500);
    release();
  }, 20_000);
});
