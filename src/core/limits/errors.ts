// Failures of a counter store. They propagate to the caller, which answers 503 or 500:
// a limiter that cannot count refuses, it never lets the request through uncounted.

export type CounterStoreErrorCode = 'store_full' | 'invalid_reply';

export class CounterStoreError extends Error {
  override readonly name = 'CounterStoreError';
  readonly code: CounterStoreErrorCode;

  constructor(code: CounterStoreErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
