// Registration and verification resend. The answer is decided before any account is
// looked at: 202 for every well-formed request with an acceptable password. The request
// hashes the password and commits one sealed job (account-jobs.ts); the job inserts the
// account and mails the link, or, for a taken address, warns its owner. So status, body
// and timing are the same whether the address is new or taken, and a 202 means the
// registration is saved.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { signupAttemptMail, verificationMail } from '../mail/index.ts';
import { findUserByEmailIndex, findUserById, insertUser, loadEmail } from '../users/index.ts';
import type { AddressJob, RegistrationJob } from './account-jobs.ts';
import type { AuthDeps } from './deps.ts';
import { issueOneTimeToken } from './one-time-tokens.ts';
import { weakPasswordError } from './password-rules.ts';

export interface Registration {
  readonly email: string;
  readonly password: string;
  readonly name: string | null;
}

/** The registration job. Its account's id is the job's, so a retry after a crash finds it done. */
export async function completeRegistration(deps: AuthDeps, job: RegistrationJob, jobId: string): Promise<void> {
  const now = deps.clock();
  await deps.change(job.context, async ({ trx, audit, enqueue }) => {
    if ((await findUserById(trx, jobId)) !== null) return;
    const userId = await insertUser(trx, deps, { id: jobId, email: job.email, name: job.name, passwordHash: job.passwordHash, emailVerified: false, now });
    if (userId !== null) {
      const token = await issueOneTimeToken(trx, 'verify_email', userId, now);
      audit({
        actor: { type: 'user', id: userId },
        action: 'user.registered',
        target: { type: 'user', id: userId },
        outcome: 'success',
      });
      enqueue(deps.mail.job(verificationMail({ publicURL: deps.publicURL }, job.email, token), { userId }));
      return;
    }
    const existing = await findUserByEmailIndex(trx, deps.blindIndex.email(job.email));
    if (existing !== null) enqueue(deps.mail.job(signupAttemptMail(job.email), { userId: existing.id }));
  });
}

/** The verification-resend job: a new link, only to an unverified, enabled account. */
export async function resendVerification(deps: AuthDeps, job: AddressJob): Promise<void> {
  const user = await findUserByEmailIndex(deps.db, deps.blindIndex.email(job.email));
  if (user === null || user.emailVerified || user.status === 'disabled') return;
  const now = deps.clock();
  await deps.change(job.context, async ({ trx, audit, enqueue }) => {
    const token = await issueOneTimeToken(trx, 'verify_email', user.id, now);
    audit({
      actor: { type: 'anonymous' },
      action: 'user.verification_resent',
      target: { type: 'user', id: user.id },
      outcome: 'success',
    });
    const stored = await loadEmail(trx, deps.keyring, user.id);
    if (stored !== null) enqueue(deps.mail.job(verificationMail({ publicURL: deps.publicURL }, stored, token), { userId: user.id }));
  });
}

/** Answers the same for every address; the job mails a new link only to an unverified account. */
export async function requestVerificationMail(deps: AuthDeps, email: string, context: RequestContext): Promise<void> {
  await deps.change(context, ({ enqueue }) => {
    enqueue(deps.accountJobs.verificationResend.job({ email, context }));
    return Promise.resolve();
  });
}

export async function register(deps: AuthDeps, input: Registration, context: RequestContext): Promise<void> {
  const verdict = deps.policy.check(input.password, { email: input.email, name: input.name });
  if (!verdict.ok) throw weakPasswordError(verdict);
  // Hashed here, for every address alike, so the job never holds the password.
  const passwordHash = await deps.passwords.hash(input.password);
  await deps.change(context, ({ enqueue }) => {
    enqueue(deps.accountJobs.registration.job({ email: input.email, name: input.name, passwordHash, context }));
    return Promise.resolve();
  });
}
