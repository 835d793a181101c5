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

/** Delay before the next status query of a payment `ageMs` old, with ±10 % jitter; null once past a day. */
export function nextCheckDelay(ageMs: number, schedule: CheckSchedule, random: () => number = Math.random): number | null {
  let base: number;
  if (ageMs < 90_000) base = schedule.promptWindowMs;
  else if (ageMs < 10 * MINUTE) base = 30_000;
  else if (ageMs < 60 * MINUTE) base = 2 * MINUTE;
  else if (ageMs < GIVE_UP_AFTER_MS) base = 15 * MINUTE;
  else return null;
  return Math.round(base * (0.9 + 0.2 * random()));
}
