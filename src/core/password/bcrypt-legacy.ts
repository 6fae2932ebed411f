// Verification of bcrypt hashes imported from the legacy system. Gatehouse never creates
// bcrypt hashes: a user whose password verifies against one is rehashed with Argon2id at
// that login (the hasher reports needsRehash: true for every bcrypt hash).
//
// bcrypt only uses the first 72 bytes of the UTF-8 password and ignores the rest: on the
// legacy hash, "<72 bytes>anything" verifies for any suffix. That is the legacy system's
// limitation, kept only until the rehash; Argon2id uses every byte.
//
// bcryptjs is pure JavaScript: its asynchronous compare yields between rounds but still
// spends its CPU on the event loop, which is one more reason to migrate these hashes away.
import bcrypt from 'bcryptjs';

// $2a$, $2b$ and $2y$ differ only in bugs of old C implementations that do not affect
// bcryptjs's output; $2$ and $2x$ are refused. 53 = 22 salt + 31 hash characters.
const BCRYPT_PATTERN = /^\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}$/;
const MIN_COST = 4;
// Cost 14 is 16,384 rounds, about a second of event-loop time in JavaScript; a stored
// hash asking for more is refused rather than computed.
export const BCRYPT_MAX_COST = 14;

export function isBcryptHash(stored: string): boolean {
  return stored.startsWith('$2');
}

/** The cost of a well-formed bcrypt hash within bounds, else null. */
export function parseBcryptCost(stored: string): number | null {
  const match = BCRYPT_PATTERN.exec(stored);
  if (match?.[1] === undefined) return null;
  const cost = Number(match[1]);
  return cost >= MIN_COST && cost <= BCRYPT_MAX_COST ? cost : null;
}

/**
 * bcryptjs's compare (it compares the recomputed hash in constant time). Call it only on a
 * hash that parseBcryptCost accepted: bcryptjs itself would run any cost up to 31.
 */
export function compareBcrypt(password: string, stored: string): Promise<boolean> {
  return bcrypt.compare(password, stored);
}
