// Decrypted profiles for GET /v1/me, kept for a moment so a client polling its own
// profile costs neither a database round trip nor a data-key unwrap and two AES-GCM
// opens on every request.
//
// The trade-off, deliberately small on both sides:
// - Plaintext PII (email, name) stays in this process's memory for at most `ttlMs`
//   (1 s by default) after it was last read from the database, for at most `maxEntries`
//   users (least recently used go first). The same strings are in memory anyway while a
//   response is built; the data key itself is never cached, so what is held can decrypt
//   nothing else.
// - Freshness: a change made through this instance is seen at once: every write goes
//   through core/change.ts, whose audit records name the user (or a role), and the entry
//   is dropped after the commit from those records. A change made
//   through another instance (or straight in the database) shows here within `ttlMs`, the
//   same bound the session gate gives a revoked session. Roles in the profile are a
//   display hint; permission checks never read them from here.
import { createTtlCache } from '../../core/cache.ts';
import type { Clock } from '../../core/clock.ts';
import type { UserProfile } from './repo.ts';

export interface ProfileCache {
  /** The cached profile of `userId`, or `load()`'s answer (cached unless null). */
  get(userId: string, load: () => Promise<UserProfile | null>): Promise<UserProfile | null>;
  /** Drops the entries a committed change made stale (`user:<id>`, `roles`); see core/change.ts. */
  invalidate(tag: string): void;
  /** Drops every entry (this instance may have missed another's invalidations; core/cache-broadcast.ts). */
  clear(): void;
  readonly size: number;
}

export interface ProfileCacheOptions {
  readonly clock: Clock;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

export const PROFILE_CACHE_MAX_TTL_MS = 5_000;

function frozen(profile: UserProfile): UserProfile {
  Object.freeze(profile.roles);
  return Object.freeze(profile);
}

export function createProfileCache(options: ProfileCacheOptions): ProfileCache {
  const ttlMs = options.ttlMs ?? 1_000;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0 || ttlMs > PROFILE_CACHE_MAX_TTL_MS) throw new RangeError(`ttlMs must be 0 to ${PROFILE_CACHE_MAX_TTL_MS}`);
  // Every forget bumps the cache's generation: a load that began before a change committed
  // may have read the old row, and does not put it back after the change's forget.
  const cache = createTtlCache<UserProfile | null>({ clock: options.clock, ttlMs, maxEntries: options.maxEntries ?? 5_000 });
  return {
    get: (userId, load) =>
      cache.load(userId, async () => {
        const loaded = await load();
        return loaded === null ? null : frozen(loaded);
      }, { keep: (profile) => profile !== null, tags: () => [`user:${userId}`, 'roles'] }),
    invalidate(tag) {
      cache.invalidate(tag);
    },
    clear() {
      cache.clear();
    },
    get size() {
      return cache.size;
    },
  };
}
