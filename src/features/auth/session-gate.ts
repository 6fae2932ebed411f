// Is this session still alive? Asked on every authenticated request, so answers are
// cached for at most `ttlMs` (one second by default): a revoked session's access tokens
// stop working within that time on every instance, since each reads the shared database.
import type { Clock } from '../../core/clock.ts';
import { createTtlCache } from '../../core/cache.ts';
import type { DB } from '../../core/db/database.ts';
import { isSessionActive } from '../sessions/index.ts';

export interface SessionGate {
  /** `userId` is the token's subject: an entry is dropped by a change to the session or to its user. */
  isActive(sessionId: string, userId: string): Promise<boolean>;
  /** Drops the entries a committed change made stale (`session:<id>`, `user:<id>`); see core/change.ts. */
  invalidate(tag: string): void;
}

export function createSessionGate(deps: { db: DB; clock: Clock; ttlMs?: number; maxEntries?: number; load?: (sessionId: string, now: Date) => Promise<boolean> }): SessionGate {
  const cache = createTtlCache<boolean>({ clock: deps.clock, ttlMs: deps.ttlMs ?? 1000, maxEntries: deps.maxEntries ?? 50_000 });
  const load = deps.load ?? ((sessionId: string, now: Date): Promise<boolean> => isSessionActive(deps.db, sessionId, now));
  return {
    // A revocation on this instance that races a check in flight: the check's "active"
    // is not cached after the revocation's invalidation (see core/cache.ts).
    isActive: (sessionId, userId) => cache.load(sessionId, () => load(sessionId, deps.clock()), { tags: () => [`session:${sessionId}`, `user:${userId}`] }),
    invalidate(tag) {
      cache.invalidate(tag);
    },
  };
}
