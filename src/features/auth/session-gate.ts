// Is this session still alive, and how was it authenticated? Asked on every
// authenticated request, so answers are cached for at most `ttlMs` (one second by
// default): a revoked session's access tokens stop working within that time on every
// instance, since each reads the shared database; with Redis, other instances drop the
// entry as soon as the revocation is announced (core/cache-broadcast.ts). The session's `amr` and `auth_time`
// come with the same read, for the routes that need a second factor or a recent
// authentication.
import type { Clock } from '../../core/clock.ts';
import { createTtlCache } from '../../core/cache.ts';
import type { DB } from '../../core/db/database.ts';
import { liveSessionAuthentication, type SessionAuthentication } from '../sessions/index.ts';

export interface SessionGate {
  /** `userId` is the token's subject: an entry is dropped by a change to the session or to its user. */
  isActive(sessionId: string, userId: string): Promise<boolean>;
  /** How the live session was authenticated; null when it is not live. */
  authentication(sessionId: string, userId: string): Promise<SessionAuthentication | null>;
  /** Drops the entries a committed change made stale (`session:<id>`, `user:<id>`); see core/change.ts. */
  invalidate(tag: string): void;
  /** Drops every entry (this instance may have missed another's invalidations; core/cache-broadcast.ts). */
  clear(): void;
}

type LoadSession = (sessionId: string, now: Date) => Promise<SessionAuthentication | null>;

export function createSessionGate(deps: { db: DB; clock: Clock; ttlMs?: number; maxEntries?: number; load?: LoadSession }): SessionGate {
  const cache = createTtlCache<SessionAuthentication | null>({ clock: deps.clock, ttlMs: deps.ttlMs ?? 1000, maxEntries: deps.maxEntries ?? 50_000 });
  const load = deps.load ?? ((sessionId: string, now: Date): Promise<SessionAuthentication | null> => liveSessionAuthentication(deps.db, sessionId, now));
  // A revocation on this instance that races a check in flight: the check's "active"
  // is not cached after the revocation's invalidation (see core/cache.ts).
  const authentication = (sessionId: string, userId: string): Promise<SessionAuthentication | null> =>
    cache.load(sessionId, () => load(sessionId, deps.clock()), { tags: () => [`session:${sessionId}`, `user:${userId}`] });
  return {
    authentication,
    isActive: async (sessionId, userId) => (await authentication(sessionId, userId)) !== null,
    invalidate(tag) {
      cache.invalidate(tag);
    },
    clear() {
      cache.clear();
    },
  };
}
