// The one thing a fixed-window limiter needs from storage: count a hit in the current
// window of a key and say when that window ends. Two stores implement it, in process
// memory for a single instance and in Redis so that every instance shares one count.
// A store that cannot count throws; it never reports a made-up count, so a limiter in
// front of it fails closed.

export interface CounterWindow {
  /** Hits in the current window, this one included. */
  readonly count: number;
  /** Milliseconds until the current window ends and the count starts again from zero. */
  readonly resetMs: number;
}

/** Keys are `<limit>:<subject>`, the limit's name first (it has no `:`, limiter.ts). */
export interface CounterStore {
  /** Counts one hit; the first hit of a key opens a window of `windowMs`. */
  increment(key: string, windowMs: number): Promise<CounterWindow>;
  /** Forgets the key's window, so its next hit opens a fresh one. */
  reset(key: string): Promise<void>;
}

export function assertWindowMs(windowMs: number): void {
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new RangeError(`a counter window must be a positive whole number of milliseconds, got ${windowMs}`);
  }
}
