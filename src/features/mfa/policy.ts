// MFA_REQUIRED_ROLES: a user holding one of these roles (now, in the database, not as
// the token says) must enrol a second factor before anything else and use it to
// administer. Asked on every authenticated request, so answers are cached for a second,
// tagged with the user: a role granted or a factor enrolled drops the entry on commit
// (core/change.ts), here, and the cache's lifetime bounds every other instance.
import type { Clock } from '../../core/clock.ts';
import { createTtlCache } from '../../core/cache.ts';
import type { DB } from '../../core/db/database.ts';
import { enrolledFactors, hasSecondFactor } from './factors.ts';

export interface SecondFactorRequirement {
  stateOf(userId: string): Promise<{ readonly required: boolean; readonly enrolled: boolean }>;
  invalidate(tag: string): void;
  /** Drops every entry (this instance may have missed another's invalidations; core/cache-broadcast.ts). */
  clear(): void;
}

export function createSecondFactorRequirement(deps: { db: DB; clock: Clock; requiredRoles: readonly string[]; ttlMs?: number }): SecondFactorRequirement {
  const cache = createTtlCache<{ required: boolean; enrolled: boolean }>({ clock: deps.clock, ttlMs: deps.ttlMs ?? 1000, maxEntries: 50_000 });
  const roles = [...deps.requiredRoles];
  async function load(userId: string): Promise<{ required: boolean; enrolled: boolean }> {
    const held = await deps.db.selectFrom('user_roles').select('role').where('user_id', '=', userId).where('role', 'in', roles).executeTakeFirst();
    if (held === undefined) return { required: false, enrolled: false };
    return { required: true, enrolled: hasSecondFactor(await enrolledFactors(deps.db, userId)) };
  }
  return {
    async stateOf(userId) {
      if (roles.length === 0) return { required: false, enrolled: false };
      return cache.load(userId, () => load(userId), { tags: () => [`user:${userId}`, 'roles'] });
    },
    invalidate(tag) {
      cache.invalidate(tag);
    },
    clear() {
      cache.clear();
    },
  };
}
