// How many attempts an account subject gets and how long it is locked after them. Each
// lock in a row lasts twice the one before (15 min, 30, 60, ...) up to a cap, so a slow
// guesser gets a handful of tries per day rather than a handful per quarter hour.

export interface LockoutPolicyOptions {
  /** Consecutive failures that lock the subject. */
  readonly threshold?: number;
  /** The first lock; each further lock in a row doubles it. */
  readonly baseLockSeconds?: number;
  /** The longest lock. */
  readonly maxLockSeconds?: number;
  /**
   * How long a reserved attempt may stay without its outcome (failure or success) being
   * recorded before it is taken as a failure. It covers an instance that died between
   * the reservation and the outcome; without it that subject would be refused forever.
   */
  readonly pendingSeconds?: number;
}

export interface LockoutPolicy {
  readonly threshold: number;
  readonly baseLockSeconds: number;
  readonly maxLockSeconds: number;
  readonly pendingSeconds: number;
  /** Doublings after which base * 2^n reaches the cap; bounds the exponent in SQL. */
  readonly doublingsToCap: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`lockout ${name} must be a positive integer, got ${value}`);
  return value;
}

export function resolveLockoutPolicy(options: LockoutPolicyOptions): LockoutPolicy {
  const threshold = positiveInteger('threshold', options.threshold ?? 5);
  const baseLockSeconds = positiveInteger('baseLockSeconds', options.baseLockSeconds ?? 900);
  const maxLockSeconds = positiveInteger('maxLockSeconds', options.maxLockSeconds ?? 86_400);
  const pendingSeconds = positiveInteger('pendingSeconds', options.pendingSeconds ?? 60);
  // The failure counter is a PostgreSQL integer and stops at threshold + 1.
  if (threshold >= 2 ** 31 - 1) throw new RangeError('lockout threshold is too large');
  if (maxLockSeconds < baseLockSeconds) throw new RangeError('lockout maxLockSeconds must be at least baseLockSeconds');
  return {
    threshold,
    baseLockSeconds,
    maxLockSeconds,
    pendingSeconds,
    doublingsToCap: Math.ceil(Math.log2(maxLockSeconds / baseLockSeconds)),
  };
}
