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
// - Freshness: a change made through this instance is seen at once, because every writer
//   of a profile field calls `forget(userId)` after its transaction commits. A change made
//   through another instance (or straight in the database) shows here within `ttlMs`, the
//   same bound the session gate gives a revoked session. Roles in the profile are a
//   display hint; permission checks never read them from here.
// A writer of users, user_roles or data_keys that can change what loadProfile returns
// (name, email, verification, roles, deletion, crypto-shredding) must call `forget`.
import type { Clock } from '../../core/clock.ts';
import type { UserProfile } from './repo.ts';

export interface ProfileCache {
  /** The cached profile of `userId`, or `load()`'s answer (cached unless null). */
  get(userId: string, load: () => Promise<UserProfile | null>): Promise<UserProfile | null>;
  /** Drops the user's entry at once on this instance; call after the change commits. */
  forget(userId: string): void;
  readonly size: number;
}

export interface ProfileCacheOptions {
  readonly clock: Clock;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

export const PROFILE_CACHE_MAX_TTL_MS = 5_000;

interface Entry {
  readonly profile: UserProfile;
  readonly until: number;
}

function frozen(profile: UserProfile): UserProfile {
  Object.freeze(profile.roles);
  return Object.freeze(profile);
}

export function createProfileCache(options: ProfileCacheOptions): ProfileCache {
  const ttlMs = options.ttlMs ?? 1_000;
  const maxEntries = options.maxEntries ?? 5_000;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0 || ttlMs > PROFILE_CACHE_MAX_TTL_MS) throw new RangeError(`ttlMs must be 0 to ${PROFILE_CACHE_MAX_TTL_MS}`);
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be a non-negative integer');
  // Map order is insertion order; re-inserting on a hit keeps the least recently used first.
  const entries = new Map<string, Entry>();
  // Bumped by every forget: a load that began before a change committed may have read the
  // old row, and must not put it back after the change's forget.
  let generation = 0;

  function store(userId: string, profile: UserProfile, now: number): void {
    entries.delete(userId);
    entries.set(userId, { profile, until: now + ttlMs });
    for (const oldest of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(oldest);
    }
  }

  return {
    async get(userId, load) {
      const now = options.clock().getTime();
      const hit = entries.get(userId);
      if (hit !== undefined) {
        entries.delete(userId);
        if (hit.until > now) {
          entries.set(userId, hit);
          return hit.profile;
        }
      }
      const started = generation;
      const loaded = await load();
      if (loaded === null) return null;
      const profile = frozen(loaded);
      if (started === generation && ttlMs > 0 && maxEntries > 0) store(userId, profile, now);
      return profile;
    },
    forget(userId) {
      generation += 1;
      entries.delete(userId);
    },
    get size() {
      return entries.size;
    },
  };
}
