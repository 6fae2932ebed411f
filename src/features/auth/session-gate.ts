// Is this session still alive? Asked on every authenticated request, so answers are
// cached for at most `ttlMs` (one second by default): a revoked session's access tokens
// stop working within that time on every instance, since each reads the shared database.
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import { isSessionActive } from '../sessions/repo.ts';

export interface SessionGate {
  isActive(sessionId: string): Promise<boolean>;
  /** Forget a session at once on this instance (after revoking it here). */
  forget(sessionId: string): void;
}

export function createSessionGate(deps: { db: DB; clock: Clock; ttlMs?: number; maxEntries?: number }): SessionGate {
  const ttlMs = deps.ttlMs ?? 1000;
  const maxEntries = deps.maxEntries ?? 50_000;
  const cache = new Map<string, { active: boolean; until: number }>();
  return {
    async isActive(sessionId) {
      const now = deps.clock();
      const hit = cache.get(sessionId);
      if (hit !== undefined && hit.until > now.getTime()) return hit.active;
      const active = await isSessionActive(deps.db, sessionId, now);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value ?? '');
      cache.set(sessionId, { active, until: now.getTime() + ttlMs });
      return active;
    },
    forget(sessionId) {
      cache.delete(sessionId);
    },
  };
}
