import { describe, expect, it } from 'vitest';
import { randomBytesFromPool } from './random.js';

describe('randomBytesFromPool', () => {
  it('hands out every byte once, across refills of its pool, in the sizes asked for', () => {
    const draws = Array.from({ length: 2_000 }, (_, i) => randomBytesFromPool(1 + (i % 40)));
    expect(draws.map((bytes) => bytes.length)).toEqual(draws.map((_, i) => 1 + (i % 40)));
    // 2,000 draws of up to 40 bytes: over ten pools. Draws of 16 bytes or more never repeat by
    // chance; a byte handed out twice (or a pool overwritten) would.
    const long = draws.filter((bytes) => bytes.length >= 16).map((bytes) => bytes.toString('hex'));
    expect(new Set(long).size).toBe(long.length);
    const kept = draws.map((bytes) => Buffer.from(bytes).toString('hex'));
    expect(draws.map((bytes) => bytes.toString('hex'))).toEqual(kept);
  });

  it('draws more than its pool holds straight from the system', () => {
    const big = randomBytesFromPool(10_000);
    expect(big.length).toBe(10_000);
    expect(new Set(big).size).toBeGreaterThan(200);
  });
});
