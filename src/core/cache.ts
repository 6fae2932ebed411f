// The one in-process cache: a bounded map with a time to live per entry, least recently
// used evicted first, and one stale-read guard. Every cache in Gatehouse (live sessions,
// permissions, profiles, verified tokens) is one of these, so they share one eviction
// policy and one answer to the race below.
//
// The race: a load starts, reads the database, and before it returns the value is
// changed and the cache entry deleted (a session revoked, a role removed). Storing the
// load's answer afterwards would put the old state back for a whole lifetime on the very
// instance that made the change. So every delete bumps a generation, and a load stores
// its answer only if no delete happened while it ran.
//
// Entries may carry tags naming what they were derived from (`user:<id>`,
// `session:<id>`, `roles`): after a change commits, the audit targets it recorded become
// tags (core/change.ts), and `invalidate(tag)` drops every entry carrying one, so no
// writer has to remember which caches its change touched.
import type { Clock } from './clock.ts';

export interface TtlCache<V> {
  /** The live value, or undefined (missing or expired). A hit counts as a use. */
  get(key: string): V | undefined;
  /** Stores `value` for `ttlMs` (the cache's lifetime by default, never longer). */
  set(key: string, value: V, ttlMs?: number, tags?: readonly string[]): void;
  /**
   * The live value, or `load()`'s answer. The answer is stored unless `keep` refuses it or
   * an entry was deleted while it loaded (a value read before an invalidation is never
   * stored after it).
   */
  load(key: string, load: () => Promise<V>, options?: LoadOptions<V>): Promise<V>;
  /** Drops one entry; loads in flight will not store. */
  delete(key: string): void;
  /** Drops every entry carrying `tag`; loads in flight will not store. */
  invalidate(tag: string): void;
  /** Drops every entry; loads in flight will not store. */
  clear(): void;
  readonly size: number;
}

export interface TtlCacheOptions {
  readonly clock: Clock;
  readonly ttlMs: number;
  readonly maxEntries: number;
}

export interface LoadOptions<V> {
  readonly keep?: (value: V) => boolean;
  /** What the value depends on; `invalidate` with any of them drops it. */
  readonly tags?: (value: V) => readonly string[];
}

interface Entry<V> {
  readonly value: V;
  readonly until: number;
  readonly tags: readonly string[];
}

export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const { clock, ttlMs, maxEntries } = options;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new RangeError('ttlMs must be a non-negative integer');
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be a non-negative integer');
  // Map order is insertion order; re-inserting on a hit keeps the least recently used first.
  const entries = new Map<string, Entry<V>>();
  // tag -> keys of the entries carrying it, kept exactly in step with `entries`.
  const tagged = new Map<string, Set<string>>();
  let generation = 0;

  function remove(key: string): void {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    for (const tag of entry.tags) {
      const keys = tagged.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) tagged.delete(tag);
    }
  }

  function get(key: string): V | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= clock().getTime()) {
      remove(key);
      return undefined;
    }
    entries.delete(key);
    entries.set(key, entry);
    return entry.value;
  }

  function store(key: string, value: V, until: number, tags: readonly string[]): void {
    if (until <= clock().getTime() || maxEntries === 0) return;
    remove(key);
    entries.set(key, { value, until, tags });
    for (const tag of tags) {
      const keys = tagged.get(tag) ?? new Set<string>();
      keys.add(key);
      tagged.set(tag, keys);
    }
    for (const oldest of entries.keys()) {
      if (entries.size <= maxEntries) break;
      remove(oldest);
    }
  }

  function set(key: string, value: V, lifetimeMs: number = ttlMs, tags: readonly string[] = []): void {
    store(key, value, clock().getTime() + Math.min(lifetimeMs, ttlMs), tags);
  }

  return {
    get,
    set,
    async load(key, load, loadOptions = {}) {
      const hit = get(key);
      if (hit !== undefined) return hit;
      const started = generation;
      // The lifetime counts from before the read: a value is never kept longer than
      // `ttlMs` after the database state it reflects.
      const until = clock().getTime() + ttlMs;
      const value = await load();
      if (started === generation && (loadOptions.keep?.(value) ?? true)) store(key, value, until, loadOptions.tags?.(value) ?? []);
      return value;
    },
    delete(key) {
      generation += 1;
      remove(key);
    },
    invalidate(tag) {
      generation += 1;
      for (const key of [...(tagged.get(tag) ?? [])]) remove(key);
    },
    clear() {
      generation += 1;
      entries.clear();
      tagged.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

/** A cache as invalidation sees it. */
export interface Invalidatable {
  invalidate(tag: string): void;
  clear(): void;
}

/**
 * Where committed changes announce what they made stale (core/change.ts) and every cache
 * derived from the database listens. One per process; with Redis, other instances'
 * changes arrive here too (core/cache-broadcast.ts).
 */
export interface CacheInvalidation {
  register(cache: Invalidatable): void;
  /** Drops what `tag` names from every registered cache of this process. */
  invalidate(tag: string): void;
  /** Drops everything from every registered cache of this process. */
  clear(): void;
}

export function createCacheInvalidation(): CacheInvalidation {
  const caches = new Set<Invalidatable>();
  return {
    register(cache) {
      caches.add(cache);
    },
    invalidate(tag) {
      for (const cache of caches) cache.invalidate(tag);
    },
    clear() {
      for (const cache of caches) cache.clear();
    },
  };
}
