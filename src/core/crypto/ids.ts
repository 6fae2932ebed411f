import { randomFillSync } from 'node:crypto';

// The random part of ids comes from a pool filled 4 KiB at a time: one call into the
// CSPRNG per 409 ids instead of one per id (a request id is made for every request, and
// the call was a tenth of a cached GET /v1/me). Each byte is handed out once. This serves
// ids, which must be unguessable but are not secrets; keys, tokens and IVs take their
// bytes from randomBytes directly, so none of them lingers in a long-lived buffer.
const RANDOM_BYTES = 10;
const pool = Buffer.allocUnsafeSlow(RANDOM_BYTES * 409);
let poolOffset = pool.length;
const scratch = Buffer.alloc(16);

/**
 * RFC 9562 UUIDv7: 48 bits of Unix milliseconds then 74 random bits, so ids sort by
 * creation time (useful in logs and as index keys) and still cannot be guessed.
 */
export function uuidv7(now: number = Date.now()): string {
  scratch.writeUIntBE(now, 0, 6);
  if (poolOffset + RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(scratch, 6, poolOffset, poolOffset + RANDOM_BYTES);
  poolOffset += RANDOM_BYTES;
  scratch[6] = 0x70 | ((scratch[6] ?? 0) & 0x0f);
  scratch[8] = 0x80 | ((scratch[8] ?? 0) & 0x3f);
  const hex = scratch.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
