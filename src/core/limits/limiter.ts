// A fixed-window limiter: at most `max` hits per key in each window of `windowMs`.
// Keys are namespaced by the limiter's name, so two limiters sharing a store (login by
// address, login by account, password reset by email) never share a budget. Whatever
// the store throws propagates: the caller answers 503/500 and the request is refused,
// never allowed uncounted.
import type { CounterStore } from './counter-store.ts';

export interface LimiterOptions {
  /** Letters, digits, `_`, `.` and `-`; it prefixes every key. */
  readonly name: string;
  /** Hits allowed per key in one window. */
  readonly max: number;
  readonly windowMs: number;
}

export interface LimitDecision {
  readonly allowed: boolean;
  /** Hits left in this window after this one. */
  readonly remaining: number;
  /** When refused, whole seconds until the window ends (at least 1); 0 when allowed. */
  readonly retryAfterSeconds: number;
  /** Whole seconds until the window ends and the budget is whole again, allowed or not. */
  readonly resetSeconds: number;
}

export interface Limiter {
  readonly name: string;
  consume(key: string): Promise<LimitDecision>;
  reset(key: string): Promise<void>;
}

// No `:` in a name, so `name:` can never be a prefix of another limiter's `name:key`.
const LIMITER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function assertOptions(options: LimiterOptions): void {
  if (!LIMITER_NAME.test(options.name)) throw new RangeError(`invalid limiter name ${JSON.stringify(options.name)}`);
  if (!Number.isSafeInteger(options.max) || options.max < 1) throw new RangeError(`limiter ${options.name}: max must be a positive integer`);
  if (!Number.isSafeInteger(options.windowMs) || options.windowMs < 1) throw new RangeError(`limiter ${options.name}: windowMs must be a positive integer`);
}

export function createLimiter(store: CounterStore, options: LimiterOptions): Limiter {
  assertOptions(options);
  const { name, max, windowMs } = options;
  const namespaced = (key: string): string => `${name}:${key}`;
  return {
    name,
    async consume(key: string): Promise<LimitDecision> {
      const { count, resetMs } = await store.increment(namespaced(key), windowMs);
      const allowed = count <= max;
      const resetSeconds = Math.max(1, Math.ceil(resetMs / 1000));
      return { allowed, remaining: Math.max(0, max - count), retryAfterSeconds: allowed ? 0 : resetSeconds, resetSeconds };
    },
    async reset(key: string): Promise<void> {
      await store.reset(namespaced(key));
    },
  };
}
