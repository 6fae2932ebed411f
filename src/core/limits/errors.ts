// Failures of a counter store. They propagate to the caller, which answers 503 or 500:
// a limiter that cannot count refuses, it never lets the request through uncounted.
//
// `store_full` and `store_unavailable` pass with time (windows end, Redis comes back), so
// they carry how long a client should wait: the HTTP layer answers 503 with Retry-After.
// `invalid_reply` is a bug, not an outage: it stays a 500.
export type CounterStoreErrorCode = 'store_full' | 'store_unavailable' | 'invalid_reply';

/** Retry-After of a 503 while the shared store (Redis) cannot be reached: about one reconnection attempt. */
export const STORE_UNAVAILABLE_RETRY_SECONDS = 5;
/** Retry-After of a 503 while the memory store is full: live windows must end first. */
export const STORE_FULL_RETRY_SECONDS = 60;

export class CounterStoreError extends Error {
  override readonly name = 'CounterStoreError';
  readonly code: CounterStoreErrorCode;
  /** Whole seconds after which trying again may succeed; null when it would not help. */
  readonly retryAfterSeconds: number | null;
  constructor(code: CounterStoreErrorCode, message: string) {
    super(message);
    this.code = code;
    this.retryAfterSeconds =
      code === 'store_unavailable' ? STORE_UNAVAILABLE_RETRY_SECONDS : code === 'store_full' ? STORE_FULL_RETRY_SECONDS : null;
  }
}
