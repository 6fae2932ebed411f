// A kind of job whose payload is sealed (sealed-payload.ts) because it holds personal data
// or a secret: an address typed into a form, a one-time link, a password hash. `job()`
// gives the PendingJob a change enqueues (core/change.ts), `handler` is what the runner
// calls: it opens the payload (one that does not open for this very row and kind is
// never acted on) and hands the parsed value to `run`. The payload is cleared once the
// job is done or failed for good (repo.ts).
import type { PendingJob } from '../change.ts';
import type { Clock } from '../clock.ts';
import { isCryptoError } from '../crypto/aead.ts';
import { uuidv7 } from '../crypto/ids.ts';
import type { JobHandler, JobOutcome } from './handler.ts';
import { DEFAULT_MAX_PENDING_JOBS, enqueueJobs, type ClaimedJob } from './repo.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
import { openJobPayload, sealJobPayload } from './sealed-payload.ts';

export interface SealedJobKindDeps<P> {
  readonly kind: string;
  /** The `job-payload` system key. */
  readonly key: Buffer;
  readonly clock: Clock;
  /** Narrows what the payload holds; null refuses it (never acted on). */
  readonly parse: (value: unknown) => P | null;
  /** Does the job. A throw is a failed attempt, retried by `retry`. */
  readonly run: (payload: P, job: ClaimedJob, signal: AbortSignal) => Promise<JobOutcome>;
  readonly maxPending?: number;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  /** After the job is written (inside the transaction): to count it and wake the runner. */
  readonly onEnqueued?: () => void;
  /** When a payload does not open or parse. */
  readonly onInvalid?: (job: ClaimedJob) => void;
  readonly onFailure?: JobHandler['onFailure'];
}

export interface SealedJobOptions {
  readonly userId?: string | null;
  readonly essential?: boolean;
  readonly dedupeKey?: string;
  readonly notBefore?: Date;
}

export interface SealedJobKind<P> {
  /**
   * `userId`: the account the job is about, if any (deleting it deletes the job).
   * `essential`: never refused for capacity (see EnqueueOptions.maxPending).
   * `dedupeKey`, `notBefore`: as NewJob's.
   */
  job(payload: P, options?: SealedJobOptions): PendingJob;
  readonly handler: JobHandler;
}

export function createSealedJobKind<P>(deps: SealedJobKindDeps<P>): SealedJobKind<P> {
  const { kind, key } = deps;

  function open(job: ClaimedJob): P | null {
    try {
      return deps.parse(JSON.parse(openJobPayload(key, job, job.payload)));
    } catch (error) {
      if (isCryptoError(error) || error instanceof SyntaxError) return null;
      throw error;
    }
  }

  return {
    job(payload, options = {}) {
      return {
        async write(trx) {
          const now = deps.clock();
          const id = uuidv7(now.getTime());
          const sealed = sealJobPayload(key, { id, kind }, JSON.stringify(payload));
          const scheduling = { ...(options.dedupeKey === undefined ? {} : { dedupeKey: options.dedupeKey }), ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }) };
          await enqueueJobs(trx, [{ id, kind, payload: sealed, userId: options.userId ?? null, ...scheduling }], now, { maxPending: options.essential === true ? null : (deps.maxPending ?? DEFAULT_MAX_PENDING_JOBS) });
          deps.onEnqueued?.();
        },
      };
    },
    handler: {
      kind,
      retry: deps.retry ?? DEFAULT_RETRY_POLICY,
      timeoutMs: deps.timeoutMs ?? 60_000,
      async handle(job, signal) {
        const payload = open(job);
        // Tampered with, moved from another job, or sealed under another key: never run.
        if (payload === null) {
          deps.onInvalid?.(job);
          return { status: 'failed', error: 'invalid_payload' };
        }
        return deps.run(payload, job, signal);
      },
      ...(deps.onFailure === undefined ? {} : { onFailure: deps.onFailure }),
    },
  };
}
