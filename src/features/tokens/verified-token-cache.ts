// Remembers tokens that verified, so the hot path skips the signature check for a token
// seen moments ago. Keyed by SHA-256 of the whole token, signature included: a token
// differing in any byte (a forged signature on a genuine payload) is a different entry.
// An entry lives until the token's `exp` or `maxAgeMs`, whichever comes first, and never
// longer: `exp` is honoured without the verifier's clock tolerance.
//
// Not revocation: a cached token stays "verified" after its session is revoked, exactly
// as the signature would. Whether the session (`sid`) is still live is checked by the
// session layer on each request, never here.
import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';

export interface VerifiedTokenCache<C extends { readonly exp: number }> {
  get(token: string): C | null;
  set(token: string, claims: C): void;
  readonly size: number;
}

export interface VerifiedTokenCacheOptions {
  readonly maxEntries: number;
  readonly clock: Clock;
  readonly maxAgeMs?: number;
}

const DEFAULT_MAX_AGE_MS = 60_000;

interface Entry<C> {
  readonly claims: C;
  readonly until: number;
}

function cacheKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export function createVerifiedTokenCache<C extends { readonly exp: number }>(options: VerifiedTokenCacheOptions): VerifiedTokenCache<C> {
  const { maxEntries, clock } = options;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be a non-negative integer');
  if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 0) throw new RangeError('maxAgeMs must be a non-negative integer');
  // Map iteration follows insertion order; re-inserting on a hit makes the first key the
  // least recently used.
  const entries = new Map<string, Entry<C>>();

  return {
    get(token) {
      const key = cacheKey(token);
      const entry = entries.get(key);
      if (entry === undefined) return null;
      entries.delete(key);
      if (clock().getTime() >= entry.until) return null;
      entries.set(key, entry);
      return entry.claims;
    },
    set(token, claims) {
      const now = clock().getTime();
      const until = Math.min(claims.exp * 1000, now + maxAgeMs);
      if (until <= now || maxEntries === 0) return;
      const key = cacheKey(token);
      entries.delete(key);
      entries.set(key, { claims, until });
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
    },
    get size() {
      return entries.size;
    },
  };
}
