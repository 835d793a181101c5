/**
 * M-Pesa writes times as `YYYYMMDDHHmmss` in Kenya time (EAT, UTC+3, no daylight saving): the
 * Daraja push password and timestamp, and `TransactionDate` in callbacks.
 */
const KENYA_OFFSET_MS = 3 * 3600_000;

/** `YYYYMMDDHHmmss` in Kenya time for the instant `ms`. */
export function kenyaTimestamp(ms: number): string {
  return new Date(ms + KENYA_OFFSET_MS).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}

/** The instant a Kenya-time `YYYYMMDDHHmmss` stands for, or undefined if it is not one. */
export function parseKenyaTimestamp(timestamp: string): number | undefined {
  const parts = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(timestamp);
  if (!parts) return undefined;
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls over out-of-range fields (month 13, hour 25): refuse those instead.
  if (kenyaTimestamp(utc - KENYA_OFFSET_MS) !== timestamp) return undefined;
  return utc - KENYA_OFFSET_MS;
}
