import { describe, expect, it } from 'vitest';
import { GIVE_UP_AFTER_MS, nextCheckDelay } from './schedule.js';

const noJitter = () => 0.5;
const schedule = { promptWindowMs: 5_000 };

describe('status check schedule', () => {
  it('checks often during the prompt window, then less and less', () => {
    const delays = [0, 60_000, 5 * 60_000, 30 * 60_000, 5 * 3600_000].map((age) => nextCheckDelay(age, schedule, noJitter)!);
    expect(delays[0]).toBe(5_000);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.at(-1)).toBe(15 * 60_000);
  });

  it('stops after a day', () => {
    expect(nextCheckDelay(GIVE_UP_AFTER_MS, schedule, noJitter)).toBeNull();
  });

  it('spreads checks by up to ±10 %', () => {
    expect(nextCheckDelay(0, schedule, () => 0)).toBe(4_500);
    expect(nextCheckDelay(0, schedule, () => 1)).toBe(5_500);
  });
});
