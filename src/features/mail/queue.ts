// Mail as durable jobs (core/jobs): `enqueue` writes a `mail` job inside the caller's
// transaction, so a mail exists exactly when the change that sends it commits, survives
// restarts, and is never dropped (a full queue refuses the change with a 503 instead).
// The job runner sends it through the transport (SMTP, or the development outbox).
//
// A mail holds its recipient (personal data) and often a one-time link (a bearer
// secret), so its payload is sealed (AES-256-GCM under the `job-payload` system key,
// bound to the job's id and kind) and cleared once the job is done or has failed for
// good. The job names its user, so deleting the account deletes mail still pending for it.
// Logs carry the subject and the transport's error code, never the recipient or the body.
import type { Transaction } from 'kysely';
import type { Clock } from '../../core/clock.ts';
import type { Schema } from '../../core/db/schema.ts';
import type { ClaimedJob } from '../../core/jobs/repo.ts';
import type { RetryPolicy } from '../../core/jobs/retry.ts';
import type { JobHandler, JobOutcome } from '../../core/jobs/handler.ts';
import { createSealedJobKind } from '../../core/jobs/sealed-kind.ts';
import type { Logger } from '../../core/logging.ts';
import type { MailMessage, MailTransport } from './mailer.ts';

export const MAIL_JOB_KIND = 'mail';

/** Pending mail above which a change that sends one is refused (503, Retry-After). */
export const DEFAULT_MAX_PENDING_MAIL = 10_000;

// 30 s, 1, 2, 4, 8, 10, 10 min: eight attempts over about 36 minutes. One-time links
// expire within hours, so a mail held back longer would mostly carry a dead link.
export const MAIL_RETRY_POLICY: RetryPolicy = { baseDelayMs: 30_000, maxDelayMs: 600_000, maxAttempts: 8, jitter: 0.2 };

// A send normally takes well under a second; one that hangs this long is tried again.
const MAIL_TIMEOUT_MS = 30_000;

export interface MailQueueDeps {
  /** The `job-payload` system key. */
  readonly key: Buffer;
  readonly transport: MailTransport;
  readonly from: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxPending?: number;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  /** Called after jobs are written (inside the transaction), to count them and wake the runner. */
  readonly onEnqueued?: (count: number) => void;
}

export interface MailOptions {
  /** The account the mail is about, if any: deleting it deletes the pending mail. */
  readonly userId: string | null;
  /**
   * A security notice (password changed, sessions ended by an admin): queued even when the
   * queue is full, so the change it reports is never refused because other mail is backed up.
   */
  readonly essential?: boolean;
  /** Unique among mail jobs: a second mail with the same key makes the change fail. */
  readonly dedupeKey?: string;
  /** Not sent before this time: a large mailing paced to what the provider accepts. */
  readonly notBefore?: Date;
}

export interface MailQueue {
  /**
   * Queues `message` inside `trx`: sent once the transaction commits, never if it rolls
   * back. Throws `service_unavailable` (rolling the change back) when the queue is full.
   */
  enqueue(trx: Transaction<Schema>, message: MailMessage, options: MailOptions): Promise<void>;
  /** Sends queued mail; registered with the job runner. */
  readonly handler: JobHandler;
}

// What the log may say of a transport failure: its code or SMTP status, nothing it
// carries (SMTP errors list the rejected recipients).
function transportError(error: unknown): { readonly code: string; readonly responseCode: number | null } {
  const { code, responseCode } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; responseCode?: unknown };
  return {
    code: typeof code === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(code) ? code : 'unknown',
    responseCode: typeof responseCode === 'number' && Number.isInteger(responseCode) && responseCode >= 100 && responseCode < 600 ? responseCode : null,
  };
}

function messageOf(value: unknown): MailMessage | null {
  if (typeof value !== 'object' || value === null) return null;
  const { to, subject, text } = value as Record<string, unknown>;
  return typeof to === 'string' && typeof subject === 'string' && typeof text === 'string' ? { to, subject, text } : null;
}

export function createMailQueue(deps: MailQueueDeps): MailQueue {
  const { log } = deps;

  async function send(message: MailMessage, job: ClaimedJob): Promise<JobOutcome> {
    try {
      await deps.transport({ ...message, from: deps.from });
    } catch (error) {
      const { code, responseCode } = transportError(error);
      log.error({ job_id: job.id, attempt: job.attempts, code, response_code: responseCode, subject: message.subject }, 'mail delivery failed');
      // A permanent SMTP refusal (5xx: no such mailbox, policy) will not change on retry.
      const error_ = responseCode === null ? `transport_${code}` : `smtp_${responseCode}`;
      return responseCode !== null && responseCode >= 500 ? { status: 'failed', error: error_ } : { status: 'retry', error: error_ };
    }
    log.info({ job_id: job.id, attempt: job.attempts, subject: message.subject }, 'mail sent');
    return { status: 'done' };
  }

  const mail = createSealedJobKind<MailMessage>({
    kind: MAIL_JOB_KIND,
    key: deps.key,
    clock: deps.clock,
    parse: messageOf,
    run: (message, job) => send(message, job),
    maxPending: deps.maxPending ?? DEFAULT_MAX_PENDING_MAIL,
    retry: deps.retry ?? MAIL_RETRY_POLICY,
    timeoutMs: deps.timeoutMs ?? MAIL_TIMEOUT_MS,
    ...(deps.onEnqueued === undefined ? {} : { onEnqueued: () => { deps.onEnqueued?.(1); } }),
    // Tampered with, moved from another job, or sealed under another key: never sent.
    onInvalid: (job) => { log.error({ job_id: job.id }, 'mail job payload could not be opened'); },
    onFailure(job, failure) {
      if (failure.final) log.error({ job_id: job.id, attempt: failure.attempt, error: failure.error }, 'mail delivery failed for good');
    },
  });

  return {
    enqueue: (trx, message, options) => mail.job({ to: message.to, subject: message.subject, text: message.text }, options).write(trx),
    handler: mail.handler,
  };
}
