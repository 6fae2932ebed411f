// Remembers tokens that verified, so the hot path skips the signature check for a token
// seen moments ago. Keyed by SHA-256 of the whole token, signature included: a token
// differing in any byte (a forged signature on a genuine payload) is a different entry.
// An entry lives until the token's `exp` or `maxAgeMs`, whichever comes first, and never
// longer: `exp` is honoured without the verifier's clock tolerance.
//
// Not revocation: a cached token stays "verified" after its session is revoked, exactly
// as the signature would. Whether the session (`sid`) is still live is checked by the
// session layer on each request, never here. A signing key withdrawn at once is another
// matter: the signature itself no longer counts, so the `signing_keys` tag (and a full
// resync) empties the cache, and every token is checked against the keys again.
import { hash } from 'node:crypto';
import { createTtlCache, type Invalidatable } from '../../core/cache.ts';
import { SIGNING_KEYS_TAG } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';

export interface VerifiedTokenCache<C extends { readonly exp: number }> extends Invalidatable {
  get(token: string): C | null;
  set(token: string, claims: C): void;
  /**
   * The cached claims, or `verify()`'s answer, stored unless the cache was emptied while
   * it ran: a signature checked against a key withdrawn meanwhile is never remembered.
   */
  load(token: string, verify: () => Promise<C | null>): Promise<C | null>;
  readonly size: number;
}

export interface VerifiedTokenCacheOptions {
  readonly maxEntries: number;
  readonly clock: Clock;
  readonly maxAgeMs?: number;
}

const DEFAULT_MAX_AGE_MS = 60_000;

function cacheKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

export function createVerifiedTokenCache<C extends { readonly exp: number }>(options: VerifiedTokenCacheOptions): VerifiedTokenCache<C> {
  const { clock } = options;
  const cache = createTtlCache<C>({ clock, ttlMs: options.maxAgeMs ?? DEFAULT_MAX_AGE_MS, maxEntries: options.maxEntries });
  // Bumped by every emptying, so a verification that began before one does not store.
  let generation = 0;
  const set = (token: string, claims: C): void => {
    // Until the token's `exp`, never past it (the cache's own lifetime caps it too).
    cache.set(cacheKey(token), claims, claims.exp * 1000 - clock().getTime());
  };
  const clear = (): void => {
    generation += 1;
    cache.clear();
  };
  return {
    get: (token) => cache.get(cacheKey(token)) ?? null,
    set,
    async load(token, verify) {
      const hit = cache.get(cacheKey(token));
      if (hit !== undefined) return hit;
      const started = generation;
      const claims = await verify();
      if (claims !== null && started === generation) set(token, claims);
      return claims;
    },
    invalidate(tag) {
      if (tag === SIGNING_KEYS_TAG) clear();
    },
    clear,
    get size() {
      return cache.size;
    },
  };
}
