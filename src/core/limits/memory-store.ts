// Counters in process memory, for a single instance. Bounded: a flood of distinct keys
// (spoofed addresses, random emails) cannot grow the map without limit.
//
// When the map is full, expired windows are swept out, and if every entry is still live
// the new key is refused with a `store_full` error instead of evicting a live counter.
// Eviction would let an attacker reset the count of the key they are really guessing
// against by spraying other keys until it is pushed out; refusing fails closed and
// lasts only until the earliest window ends.
import type { Clock } from '../clock.ts';
import { assertWindowMs, type CounterStore, type CounterWindow } from './counter-store.ts';
import { CounterStoreError } from './errors.ts';

export interface MemoryCounterStoreOptions {
  readonly clock: Clock;
  /** The most keys held at once. */
  readonly maxKeys: number;
}

interface Entry {
  count: number;
  readonly resetAt: number;
}

export function createMemoryCounterStore(options: MemoryCounterStoreOptions): CounterStore {
  const { clock, maxKeys } = options;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
  const entries = new Map<string, Entry>();
  // No entry ends before this instant, so sweeping earlier would free nothing; it keeps
  // a full store from scanning every entry on every new key while under a flood.
  let nothingExpiresBefore = Number.POSITIVE_INFINITY;

  function sweep(now: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, entry] of entries) {
      if (entry.resetAt <= now) entries.delete(key);
      else earliest = Math.min(earliest, entry.resetAt);
    }
    nothingExpiresBefore = earliest;
  }

  function openWindow(key: string, now: number, windowMs: number): Entry {
    if (entries.size >= maxKeys && now >= nothingExpiresBefore) sweep(now);
    if (entries.size >= maxKeys) throw new CounterStoreError('store_full', `the memory counter store holds its maximum of ${maxKeys} live keys`);
    const entry: Entry = { count: 0, resetAt: now + windowMs };
    entries.set(key, entry);
    nothingExpiresBefore = Math.min(nothingExpiresBefore, entry.resetAt);
    return entry;
  }

  function incrementNow(key: string, windowMs: number): CounterWindow {
    assertWindowMs(windowMs);
    const now = clock().getTime();
    const current = entries.get(key);
    // An expired window gives up its slot before a new one is opened in its place.
    if (current !== undefined && current.resetAt <= now) entries.delete(key);
    const entry = current !== undefined && current.resetAt > now ? current : openWindow(key, now, windowMs);
    entry.count += 1;
    return { count: entry.count, resetMs: entry.resetAt - now };
  }

  return {
    // Synchronous inside, so two hits in one process can never interleave; a throw
    // becomes a rejection like any other store's.
    increment(key: string, windowMs: number): Promise<CounterWindow> {
      return new Promise((resolve) => {
        resolve(incrementNow(key, windowMs));
      });
    },
    reset(key: string): Promise<void> {
      entries.delete(key);
      return Promise.resolve();
    },
  };
}
