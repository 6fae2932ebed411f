// The work that registration, verification resend, password-reset requests and the
// start of a lockout (the owner's notice) do after the response, as durable jobs
// (core/jobs). The request itself does the same for every
// address: it validates, hashes (registration), and commits one sealed job, so its
// answer and timing cannot tell whether the address has an account, and an acknowledged
// request is saved before it is acknowledged: a crash or a restart cannot lose it, and
// while the database is down the request answers 503 instead of 202. The job looks the
// address up, changes what it must and mails through the mail queue.
//
// Payloads hold the typed address, the request's context and, for registration, the
// argon2id hash (never the password), sealed under the job-payload key (sealed-kind.ts).
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { JobHandler, JobOutcome } from '../../core/jobs/handler.ts';
import { markJobDone, type ClaimedJob } from '../../core/jobs/repo.ts';
import { createSealedJobKind, type SealedJobKind } from '../../core/jobs/sealed-kind.ts';

export interface AddressJob {
  readonly email: string;
  readonly context: RequestContext;
}

export interface RegistrationJob extends AddressJob {
  readonly name: string | null;
  readonly passwordHash: string;
}

/** A lock began on the account an email's blind index names (or on none). */
export interface LockNoticeJob {
  readonly subject: string;
  readonly lockedUntil: string;
  readonly context: RequestContext;
  /** Which step locked: passwords (the default) or second factors, whose guesser knows the password. */
  readonly step?: 'second_factor';
}

export interface AccountJobs {
  readonly registration: SealedJobKind<RegistrationJob>;
  readonly verificationResend: SealedJobKind<AddressJob>;
  readonly resetRequest: SealedJobKind<AddressJob>;
  readonly lockNotice: SealedJobKind<LockNoticeJob>;
  readonly handlers: readonly JobHandler[];
}

/** What each kind does, given the job's id (registration derives the account id from it). */
export interface AccountJobRunners {
  /** The change helper the jobs complete themselves in (core/change.ts). */
  readonly change: Changes;
  registration(payload: RegistrationJob, jobId: string): Promise<void>;
  verificationResend(payload: AddressJob): Promise<void>;
  resetRequest(payload: AddressJob): Promise<void>;
  lockNotice(payload: LockNoticeJob): Promise<void>;
}

const ACCOUNT_JOB_TIMEOUT_MS = 15_000;

type Fields = Record<string, unknown>;

const isStringOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

function contextOf(value: unknown): RequestContext | null {
  if (typeof value !== 'object' || value === null) return null;
  const { ip, userAgent, requestId } = value as Fields;
  return isStringOrNull(ip) && isStringOrNull(userAgent) && isStringOrNull(requestId) ? { ip, userAgent, requestId } : null;
}

function addressJobOf(value: unknown): AddressJob | null {
  if (typeof value !== 'object' || value === null) return null;
  const { email } = value as Fields;
  const context = contextOf((value as Fields)['context']);
  return typeof email === 'string' && context !== null ? { email, context } : null;
}

function lockNoticeJobOf(value: unknown): LockNoticeJob | null {
  if (typeof value !== 'object' || value === null) return null;
  const { subject, lockedUntil, step } = value as Fields;
  const context = contextOf((value as Fields)['context']);
  if (typeof subject !== 'string' || typeof lockedUntil !== 'string' || context === null) return null;
  if (step !== undefined && step !== 'second_factor') return null;
  return step === undefined ? { subject, lockedUntil, context } : { subject, lockedUntil, context, step };
}

function registrationJobOf(value: unknown): RegistrationJob | null {
  const address = addressJobOf(value);
  if (address === null) return null;
  const { name, passwordHash } = value as Fields;
  return isStringOrNull(name) && typeof passwordHash === 'string' ? { ...address, name, passwordHash } : null;
}

export function createAccountJobs(deps: { readonly key: Buffer; readonly clock: Clock; readonly onEnqueued?: (kind: string) => void }, runners: () => AccountJobRunners): AccountJobs {
  // Exactly once: the job is marked done in the same change as its effects (the flow's own
  // change joins this one), so a crash after the commit leaves nothing to run again, and
  // an instance whose lease ran out, and which another instance has claimed since, does
  // nothing. (The runner's own "done" afterwards finds the job finished and changes nothing.)
  const done = (job: ClaimedJob, context: RequestContext, work: () => Promise<void>): Promise<JobOutcome> =>
    runners().change(context, async ({ trx }) => {
      if (await markJobDone(trx, job, deps.clock())) await work();
      return { status: 'done' } as const;
    });
  const common = (kind: string): { kind: string; key: Buffer; clock: Clock; timeoutMs: number; onEnqueued?: () => void } => ({
    kind,
    key: deps.key,
    clock: deps.clock,
    // Database work only (the hash is made in the request), so a short bound. (A claim's
    // lease covers the longest timeout of the kinds claimed together, with mail's 30 s.)
    timeoutMs: ACCOUNT_JOB_TIMEOUT_MS,
    ...(deps.onEnqueued === undefined ? {} : { onEnqueued: () => { deps.onEnqueued?.(kind); } }),
  });
  const registration = createSealedJobKind<RegistrationJob>({
    ...common('registration'),
    parse: registrationJobOf,
    run: (payload: RegistrationJob, job: ClaimedJob) => done(job, payload.context, () => runners().registration(payload, job.id)),
  });
  const verificationResend = createSealedJobKind<AddressJob>({
    ...common('verification-resend'),
    parse: addressJobOf,
    run: (payload, job) => done(job, payload.context, () => runners().verificationResend(payload)),
  });
  const resetRequest = createSealedJobKind<AddressJob>({
    ...common('reset-request'),
    parse: addressJobOf,
    run: (payload, job) => done(job, payload.context, () => runners().resetRequest(payload)),
  });
  const lockNotice = createSealedJobKind<LockNoticeJob>({
    ...common('lock-notice'),
    parse: lockNoticeJobOf,
    run: (payload, job) => done(job, payload.context, () => runners().lockNotice(payload)),
  });
  return {
    registration,
    verificationResend,
    resetRequest,
    lockNotice,
    handlers: [registration.handler, verificationResend.handler, resetRequest.handler, lockNotice.handler],
  };
}
