// The bound that holds without Redis: every WITHDRAWAL_CHECK_MS a serving instance asks
// the database whether a key it trusts has been withdrawn (one small query, no key
// unwrapped), and if so drops what it derived from the keys exactly as a `signing_keys`
// message would. With Redis the message gets there first (milliseconds); the check covers
// a message lost while Redis was down, and deployments without Redis.
import type { CacheInvalidation } from '../../core/cache.ts';
import { SIGNING_KEYS_TAG } from '../../core/change.ts';
import type { Logger } from '../../core/logging.ts';
import type { SigningKeySource } from './signing-key-source.ts';

/** A withdrawn key is refused everywhere within this (plus one query), with or without Redis. */
export const WITHDRAWAL_CHECK_MS = 5_000;

export interface SigningKeyWatch {
  close(): Promise<void>;
}

export interface WatchSigningKeysDeps {
  readonly source: SigningKeySource;
  readonly invalidation: CacheInvalidation;
  readonly log: Logger;
  readonly intervalMs?: number;
}

export function watchSigningKeys(deps: WatchSigningKeysDeps): SigningKeyWatch {
  const { source, invalidation } = deps;
  const log = deps.log.child({ component: 'signing-key-watch' });
  let failing = false;
  let running: Promise<void> | null = null;

  async function check(): Promise<void> {
    try {
      if (await source.withdrawn()) {
        log.warn('a signing key this instance trusted was withdrawn: keys reloaded, verified tokens forgotten');
        invalidation.invalidate(SIGNING_KEYS_TAG);
      }
      if (failing) log.info('signing key withdrawal check restored');
      failing = false;
    } catch (error) {
      // Logged once per outage: the database being down is reported by readiness already.
      if (!failing) log.warn({ err: error }, 'signing key withdrawal check failed: retrying');
      failing = true;
    }
  }

  const timer = setInterval(() => {
    // A slow database never stacks checks.
    running ??= check().finally(() => {
      running = null;
    });
  }, deps.intervalMs ?? WITHDRAWAL_CHECK_MS);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
