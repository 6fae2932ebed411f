// Answers "may this user do X?" from the current database state, not from the roles in
// the access token (a hint only): a removed role or a disabled account takes effect on
// the next request on this instance, and within `ttlMs` (one second by default) on every
// other instance, since each reads the shared database.
import type { Clock } from '../../core/clock.ts';
import { createTtlCache } from '../../core/cache.ts';
import type { DB } from '../../core/db/database.ts';
import { insideTransaction } from '../../core/db/transaction-scope.ts';
import { permissionsOfUser } from './roles-repo.ts';

export interface Authorizer {
  permissionsOf(userId: string): Promise<ReadonlySet<string>>;
  /** Drops the entries a committed change made stale (`user:<id>`, or `roles` for everyone's); see core/change.ts. */
  invalidate(tag: string): void;
  /** Drops every entry (this instance may have missed another's invalidations; core/cache-broadcast.ts). */
  clear(): void;
}

export function createAuthorizer(deps: { db: DB; clock: Clock; ttlMs?: number; maxEntries?: number }): Authorizer {
  const cache = createTtlCache<ReadonlySet<string>>({ clock: deps.clock, ttlMs: deps.ttlMs ?? 1000, maxEntries: deps.maxEntries ?? 50_000 });
  return {
    async permissionsOf(userId) {
      // A guard inside a change's transaction reads through it (see transaction-scope.ts)
      // the state as it will commit; such a read is neither served from the cache nor
      // stored in it, since the transaction may still roll back.
      if (insideTransaction()) return permissionsOfUser(deps.db, userId);
      // A read that started before a change must not put the old answer back afterwards.
      // Permissions follow from the user's status and roles and from what each role grants.
      return cache.load(userId, () => permissionsOfUser(deps.db, userId), { tags: () => [`user:${userId}`, 'roles'] });
    },
    invalidate(tag) {
      cache.invalidate(tag);
    },
    clear() {
      cache.clear();
    },
  };
}
