import { describe, expect, it } from 'vitest';
import { GIVE_UP_AFTER_MS, fewestChecksInADay, nextCheckDelay } from './schedule.js';

const noJitter = () => 0.5;
const schedule = { promptWindowMs: 5_000 };

describe('status check schedule', () => {
  it('checks often during the prompt window, then less and less', () => {
    const delays = [0, 60_000, 5 * 60_000, 30 * 60_000, 5 * 3600_000].map((age, checks) => nextCheckDelay(age, checks, schedule, noJitter)!);
    expect(delays[0]).toBe(5_000);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.at(-1)).toBe(15 * 60_000);
  });

  it('stops after a day of checks', () => {
    // Every wait at its longest: the fewest checks a day can hold.
    let checks = 0;
    for (let age = 0; ; checks += 1) {
      const delay = nextCheckDelay(age, checks, schedule, () => 1);
      if (delay === null) break;
      age += delay;
    }
    expect(checks).toBe(fewestChecksInADay(schedule));
    expect(checks).toBeGreaterThan(100);
    expect(nextCheckDelay(GIVE_UP_AFTER_MS, checks, schedule, noJitter)).toBeNull();
  });

  it('goes on checking a payment that looks a day old after only a few checks (the clock stepped forward)', () => {
    expect(nextCheckDelay(GIVE_UP_AFTER_MS + 3_600_000, 4, schedule, noJitter)).toBe(15 * 60_000);
    expect(nextCheckDelay(2 * GIVE_UP_AFTER_MS, fewestChecksInADay(schedule) - 1, schedule, noJitter)).toBe(15 * 60_000);
  });

  it('spreads checks by up to ±10 %', () => {
    expect(nextCheckDelay(0, 0, schedule, () => 0)).toBe(4_500);
    expect(nextCheckDelay(0, 0, schedule, () => 1)).toBe(5_500);
  });
});
