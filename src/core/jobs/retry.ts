// When a failed delivery is tried again. Exponential, so a receiver that is down is not
// hammered, with jitter, so the events queued during an outage (and several instances)
// do not all arrive in the same second when it comes back; capped, and finite.
import { randomInt } from 'node:crypto';

export interface RetryPolicy {
  /** The delay after the first failure; it doubles after each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Attempts in all, the first included; after the last failure the row is `failed`. */
  readonly maxAttempts: number;
  /** Up to this fraction of the delay is added at random (0.2: +0 to 20 %). */
  readonly jitter: number;
}

// 30 s, 1, 2, 4, 8, 16, 32 min, 1 h 4 min, 2 h 8 min, 4 h 16 min, 6 h: twelve attempts
// over about 14.5 hours (plus jitter), long enough to ride out a night's outage.
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 30_000,
  maxDelayMs: 6 * 3_600_000,
  maxAttempts: 12,
  jitter: 0.2,
};

/** A uniform fraction in [0, 1) from the CSPRNG (the project never uses Math.random). */
export function randomFraction(): number {
  return randomInt(0, 1_000_000) / 1_000_000;
}

/**
 * The delay before attempt `attempts + 1`, given that `attempts` have failed; null when
 * no attempt is left.
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: () => number = randomFraction): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const exponent = Math.max(0, attempts - 1);
  // 2 ** exponent stays finite for any realistic count; min() keeps the result bounded anyway.
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 40));
  return Math.round(delay * (1 + policy.jitter * random()));
}
