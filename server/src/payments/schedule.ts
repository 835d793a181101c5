/**
 * When to ask a provider again about a payment that has no final answer: often while the PIN
 * prompt is open (~60 s), then less and less, for up to a day.
 */
export interface CheckSchedule {
  /** Interval during the prompt window (the first ~90 s after the push). */
  promptWindowMs: number;
}

export const DEFAULT_CHECK_SCHEDULE: CheckSchedule = { promptWindowMs: 5_000 };

const MINUTE = 60_000;
export const GIVE_UP_AFTER_MS = 24 * 60 * MINUTE;

/** The interval for a payment `ageMs` old, before jitter. */
function baseDelay(ageMs: number, schedule: CheckSchedule): number {
  if (ageMs < 90_000) return schedule.promptWindowMs;
  if (ageMs < 10 * MINUTE) return 30_000;
  if (ageMs < 60 * MINUTE) return 2 * MINUTE;
  return 15 * MINUTE;
}

/**
 * The fewest checks the schedule makes in a day: every wait at its longest (+10 %). A payment is
 * given up only once it has had as many, whatever the clock says: a clock stepped forward (a host
 * that booted days behind, then NTP) makes every open payment look a day old at once.
 */
export function fewestChecksInADay(schedule: CheckSchedule): number {
  let checks = 0;
  for (let age = 0; age < GIVE_UP_AFTER_MS; checks += 1) age += Math.max(1, baseDelay(age, schedule) * 1.1);
  return checks;
}

/**
 * Delay before the next status query of a payment `ageMs` old that has had `checksMade` queries,
 * with ±10 % jitter; null once it is past a day old and has had a day's worth of checks.
 */
export function nextCheckDelay(ageMs: number, checksMade: number, schedule: CheckSchedule, random: () => number = Math.random): number | null {
  if (ageMs >= GIVE_UP_AFTER_MS && checksMade >= fewestChecksInADay(schedule)) return null;
  return Math.round(baseDelay(ageMs, schedule) * (0.9 + 0.2 * random()));
}
