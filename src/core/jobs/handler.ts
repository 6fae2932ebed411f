// What a job handler is, and one bounded attempt at a job: the runner (runner.ts) claims,
// calls attemptJob, and records the outcome.
import type { ClaimedJob } from './repo.ts';
import type { RetryPolicy } from './retry.ts';

/**
 * What a handler reports. `retry`: this attempt failed, try again by the retry policy;
 * `failed`: it can never succeed (no attempt is left to make); `abandoned`: cut short
 * because this instance is stopping, given back uncounted. `error` is a short code.
 */
export type JobOutcome =
  | { readonly status: 'done' }
  | { readonly status: 'retry'; readonly error: string }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'abandoned' };

export interface JobFailure {
  readonly error: string;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** True when no attempt is left and the job is now `failed`. */
  readonly final: boolean;
}

export interface JobHandler {
  readonly kind: string;
  /**
   * Runs one job. `signal` aborts when the runner stops (after its grace period) or the
   * job overruns `timeoutMs`; a handler should bound its own work by `timeoutMs` too.
   * A throw counts as a failed attempt (`error: 'exception'`).
   */
  handle(job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome>;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  /** Called after each failed attempt is recorded, e.g. to log it in the handler's terms. */
  readonly onFailure?: (job: ClaimedJob, failure: JobFailure) => void;
}

// How long past its timeout a handler may run before the runner stops waiting for it.
export const OVERRUN_MS = 1_000;

// The handler's own promise, bounded: past its timeout (or once the stop grace ends)
// the runner stops waiting, aborts it and records a timeout (or gives the job back).
export async function attemptJob(job: ClaimedJob, handler: JobHandler, stopSignal: AbortSignal): Promise<JobOutcome> {
  const controller = new AbortController();
  const abort = (): void => { controller.abort(); };
  let overran = false;
  const overrun = setTimeout(() => {
    overran = true;
    abort();
  }, handler.timeoutMs + OVERRUN_MS);
  stopSignal.addEventListener('abort', abort, { once: true });
  const cutShort = new Promise<JobOutcome>((resolve) => {
    controller.signal.addEventListener('abort', () => {
      resolve(overran ? { status: 'retry', error: 'timeout' } : { status: 'abandoned' });
    }, { once: true });
  });
  try {
    const outcome = await Promise.race([
      handler.handle(job, controller.signal).catch((): JobOutcome => ({ status: 'retry', error: 'exception' })),
      cutShort,
    ]);
    // Our shutdown is not the job failing: whatever it reports once aborted, it is given back.
    return outcome.status !== 'done' && stopSignal.aborted ? { status: 'abandoned' } : outcome;
  } finally {
    clearTimeout(overrun);
    stopSignal.removeEventListener('abort', abort);
  }
}

