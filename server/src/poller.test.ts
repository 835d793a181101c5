import { describe, expect, it } from 'vitest';
import { Poller } from './poller.js';

const log = { error: () => undefined } as unknown as ConstructorParameters<typeof Poller>[3];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Work on a backlog of `size` items: each batch takes what its limit allows and is recorded. */
function backlogOf(size: number) {
  const backlog = { left: size, batches: [] as number[] };
  const work = async (limit: number) => {
    const n = Math.min(limit, backlog.left);
    backlog.left -= n;
    if (n > 0) backlog.batches.push(n);
    return n;
  };
  return { backlog, work };
}

describe('Poller', () => {
  it('drains a backlog in one pass when it has no budget', async () => {
    const { backlog, work } = backlogOf(120);
    const poller = new Poller('test', work, { tickMs: 60_000 }, log);
    poller.start();
    for (let i = 0; i < 100 && backlog.left > 0; i++) await sleep(10);
    await poller.stop();
    expect(backlog.batches).toEqual([50, 50, 20]);
  });

  it('works off a backlog at most maxPerSecond items a second, in small batches spread over the second, and a stop ends its pause', async () => {
    const { backlog, work } = backlogOf(25);
    const taken: { at: number; n: number }[] = [];
    const timed = async (limit: number) => {
      const n = await work(limit);
      if (n > 0) taken.push({ at: performance.now(), n });
      return n;
    };
    const poller = new Poller('test', timed, { tickMs: 60_000, maxPerSecond: 20 }, log);
    // A tenth of a second's budget at a time, not the whole second's at once.
    expect(poller.batchSize).toBe(2);
    poller.start();
    for (let i = 0; i < 100 && taken.length < 4; i++) await sleep(10);
    expect(taken.length).toBeGreaterThanOrEqual(4);
    expect(taken.every((batch) => batch.n <= 2)).toBe(true);
    // Each batch waits until the one before has spent its share of the budget (2 items: 100 ms;
    // timers may fire a millisecond early).
    for (let i = 1; i < taken.length; i++) expect(taken[i]!.at - taken[i - 1]!.at).toBeGreaterThanOrEqual((taken[i - 1]!.n * 1000) / 20 - 2);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([poller.stop().then(() => 'stopped'), new Promise((resolve) => (timer = setTimeout(() => resolve('still pausing'), 5_000)))]);
    clearTimeout(timer);
    expect(outcome).toBe('stopped');
    expect(backlog.left).toBeGreaterThan(0);
  });

  it('logs a failing pass once when an outage starts, and once when the work goes through again, not at every tick', async () => {
    const lines: [string, string][] = [];
    const recording = { error: (_fields: unknown, msg: string) => lines.push(['error', msg]), info: (_fields: unknown, msg: string) => lines.push(['info', msg]) } as unknown as ConstructorParameters<typeof Poller>[3];
    let calls = 0;
    const work = async () => {
      calls += 1;
      if (calls <= 6) throw new Error('Connection terminated unexpectedly');
      return 0;
    };
    const poller = new Poller('webhooks', work, { tickMs: 5 }, recording);
    poller.start();
    for (let i = 0; i < 200 && calls < 8; i++) await sleep(5);
    await poller.stop();
    expect(lines).toEqual([
      ['error', 'webhooks pass failed; retrying every tick, logged again once it works'],
      ['info', 'webhooks passes work again'],
    ]);
  });

  it('takes at least one item a batch under a budget below ten a second', () => {
    expect(new Poller('test', async () => 0, { tickMs: 1_000, maxPerSecond: 1 }, log).batchSize).toBe(1);
    expect(new Poller('test', async () => 0, { tickMs: 1_000, maxPerSecond: 1_000 }, log).batchSize).toBe(50);
  });
});
