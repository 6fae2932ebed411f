// Opaque tokens (sessions, reset links, API keys): random, stored only as a hash, and
// compared without leaking where or whether lengths differ (The Copenhagen Book, "Tokens").
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

// 128 bits is the floor for a token that must not be guessed online or offline.
const MIN_TOKEN_BYTES = 16;

/** A random token of `bytes` bytes (256 bits by default), base64url without padding. */
export function randomToken(bytes = 32): string {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_TOKEN_BYTES) {
    throw new RangeError(`a token needs at least ${MIN_TOKEN_BYTES} random bytes`);
  }
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of the token, base64url: what the database stores instead of the token. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}

/**
 * Compares two secrets in constant time. Both are hashed first so the comparison always
 * runs on two 32-byte digests: neither the length nor the first differing byte leaks.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}
