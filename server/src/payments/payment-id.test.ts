import { describe, expect, it } from 'vitest';
import { paymentIdParamsSchema } from '../api/schemas.js';
import { newPaymentId } from './service.js';

describe('newPaymentId', () => {
  it('is pay_, the time in 9 base-36 digits, then 24 random base-62 characters', () => {
    const at = Date.UTC(2026, 10, 27, 6, 0, 0, 123);
    const id = newPaymentId(at);
    expect(id).toMatch(/^pay_[0-9a-z]{9}[A-Za-z0-9]{24}$/);
    expect(parseInt(id.slice(4, 13), 36)).toBe(at);
    expect(paymentIdParamsSchema.safeParse({ id }).success).toBe(true);
  });

  it('never repeats, and its random part differs even within one millisecond', () => {
    const ids = Array.from({ length: 5_000 }, () => newPaymentId(1_800_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(13))).size).toBe(ids.length);
  });

  it('sorts by its time, byte by byte (as SQLite compares) and in a linguistic collation (as PostgreSQL with a locale does)', () => {
    // Times chosen to cross a change in every digit's place, and in the number of digits of a
    // plain base-36 number (the padding keeps them aligned).
    const times = [0, 35, 36, 1_295, 1_296, 60_466_175, 1_700_000_000_000, 1_800_000_000_000, 2_821_109_907_455, 2_821_109_907_456];
    const ids = times.map((t) => newPaymentId(t));
    const shuffled = [...ids].reverse();
    expect([...shuffled].sort()).toEqual(ids);
    expect([...shuffled].sort(new Intl.Collator('en').compare)).toEqual(ids);
  });
});
