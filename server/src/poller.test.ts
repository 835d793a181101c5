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

  it('works off a backlog at most maxPerSecond items a second, and a stop ends its pause', async () => {
    const { backlog, work } = backlogOf(25);
    const poller = new Poller('test', work, { tickMs: 60_000, maxPerSecond: 10 }, log);
    expect(poller.batchSize).toBe(10);
    poller.start();
    for (let i = 0; i < 100 && backlog.batches.length === 0; i++) await sleep(10);
    // Ten items spend the budget of a second: nothing more is taken before it has passed.
    await sleep(300);
    expect(backlog.batches).toEqual([10]);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([poller.stop().then(() => 'stopped'), new Promise((resolve) => (timer = setTimeout(() => resolve('still pausing'), 5_000)))]);
    clearTimeout(timer);
    expect(outcome).toBe('stopped');
    expect(backlog.left).toBe(15);
  });
});
