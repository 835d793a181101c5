import { describe, expect, it } from 'vitest';
import { Poller } from './poller.js';

const log = { error: () => undefined } as unknown as ConstructorParameters<typeof Poller>[3];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Poller', () => {
  it('drains a backlog in one pass when it has no budget', async () => {
    let backlog = 120;
    const batches: number[] = [];
    const poller = new Poller('test', async (limit) => {
      const n = Math.min(limit, backlog);
      backlog -= n;
      if (n > 0) batches.push(n);
      return n;
    }, { tickMs: 60_000 }, log);
    poller.start();
    for (let i = 0; i < 100 && backlog > 0; i++) await sleep(10);
    await poller.stop();
    expect(batches).toEqual([50, 50, 20]);
  });

  it('works off a backlog at most maxPerSecond items a second, and a stop ends its pause', async () => {
    let backlog = 25;
    const batches: number[] = [];
    const poller = new Poller('test', async (limit) => {
      const n = Math.min(limit, backlog);
      backlog -= n;
      if (n > 0) batches.push(n);
      return n;
    }, { tickMs: 60_000, maxPerSecond: 10 }, log);
    expect(poller.batchSize).toBe(10);
    poller.start();
    for (let i = 0; i < 100 && batches.length === 0; i++) await sleep(10);
    // Ten items spend the budget of a second: nothing more is taken before it has passed.
    await sleep(300);
    expect(batches).toEqual([10]);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([poller.stop().then(() => 'stopped'), new Promise((resolve) => (timer = setTimeout(() => resolve('still pausing'), 5_000)))]);
    clearTimeout(timer);
    expect(outcome).toBe('stopped');
    expect(backlog).toBe(15);
  });
});
