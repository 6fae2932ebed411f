// The containment switches every instance obeys (registration frozen, maintenance), kept
// in one database row (migration 0021) so that all instances share them. Read on the
// login and registration paths through the one cache primitive (core/cache.ts), for at
// most one second; a switch changes through `change` with an audit record targeting
// `incident`, so its commit drops the entry here and, announced over Redis, on every
// other instance at once (core/cache-broadcast.ts). The TTL is the bound that always holds.
import { createTtlCache } from '../../core/cache.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';

export interface IncidentState {
  /** Since when registration answers `registration_frozen`; null when open. */
  readonly registrationFrozenSince: Date | null;
  /** Since when new logins answer `maintenance_mode` (admins with a second factor excepted); null when off. */
  readonly maintenanceSince: Date | null;
}

export interface IncidentFlags {
  /** The switches as of at most `ttlMs` ago (or the last change this process heard of). */
  current(): Promise<IncidentState>;
  registrationFrozen(): Promise<boolean>;
  maintenance(): Promise<boolean>;
  /** Drops the cached row when a change names `incident` (core/change.ts). */
  invalidate(tag: string): void;
  clear(): void;
}

export const INCIDENT_TAG = 'incident';
const KEY = 'flags';

/** The row as stored; a database without it (never migrated) is an error, not "all off". */
export async function readIncidentState(db: DB): Promise<IncidentState> {
  const row = await db.selectFrom('incident_flags').select(['registration_frozen_at', 'maintenance_since']).where('id', '=', true).executeTakeFirstOrThrow();
  return { registrationFrozenSince: row.registration_frozen_at, maintenanceSince: row.maintenance_since };
}

export function createIncidentFlags(deps: { readonly db: DB; readonly clock: Clock; readonly ttlMs?: number }): IncidentFlags {
  const cache = createTtlCache<IncidentState>({ clock: deps.clock, ttlMs: deps.ttlMs ?? 1000, maxEntries: 1 });
  const current = (): Promise<IncidentState> => cache.load(KEY, () => readIncidentState(deps.db), { tags: () => [INCIDENT_TAG] });
  return {
    current,
    registrationFrozen: async () => (await current()).registrationFrozenSince !== null,
    maintenance: async () => (await current()).maintenanceSince !== null,
    invalidate(tag) {
      cache.invalidate(tag);
    },
    clear() {
      cache.clear();
    },
  };
}
