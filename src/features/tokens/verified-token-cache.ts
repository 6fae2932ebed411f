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
import { createHash } from 'node:crypto';
import { createTtlCache, type Invalidatable } from '../../core/cache.ts';
import { SIGNING_KEYS_TAG } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';

export interface VerifiedTokenCache<C extends { readonly exp: number }> extends Invalidatable {
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

function cacheKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export function createVerifiedTokenCache<C extends { readonly exp: number }>(options: VerifiedTokenCacheOptions): VerifiedTokenCache<C> {
  const { clock } = options;
  const cache = createTtlCache<C>({ clock, ttlMs: options.maxAgeMs ?? DEFAULT_MAX_AGE_MS, maxEntries: options.maxEntries });
  return {
    get: (token) => cache.get(cacheKey(token)) ?? null,
    set(token, claims) {
      // Until the token's `exp`, never past it (the cache's own lifetime caps it too).
      cache.set(cacheKey(token), claims, claims.exp * 1000 - clock().getTime());
    },
    invalidate(tag) {
      if (tag === SIGNING_KEYS_TAG) cache.clear();
    },
    clear() {
      cache.clear();
    },
    get size() {
      return cache.size;
    },
  };
}
