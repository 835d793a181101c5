/**
 * Random bytes from the system's CSPRNG (`crypto.randomBytes`), drawn from a pool refilled 4 KiB at
 * a time, as Node's own `randomUUID` does. One `randomBytes` call cost about 10 µs here whatever
 * its size, and every payment made two (its id, and the sandbox's reference): about 3 % of the
 * relay's CPU per payment. The bytes are as unpredictable as `randomBytes`' own; each is handed out
 * once, and a refill takes a new buffer, so bytes handed out before are never overwritten.
 */
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

export function randomBytesFromPool(size: number): Buffer {
  if (size > POOL_BYTES) return randomBytes(size);
  if (used + size > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const bytes = pool.subarray(used, used + size);
  used += size;
  return bytes;
}
