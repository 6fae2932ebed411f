// Registration. The answer is decided before any account is looked at: 202 for every
// well-formed request with an acceptable password. The request hashes the password and
// commits one sealed job (auth/account-jobs.ts); the job inserts the account and mails
// the link, or, for a taken address, warns its owner. So status, body and timing are the
// same whether the address is new or taken, and a 202 means the registration is saved.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { issueOneTimeToken, weakPasswordError, type RegistrationJob } from '../auth/index.ts';
import { signupAttemptMail, verificationMail } from '../mail/index.ts';
import { findUserByEmail, findUserById, insertUser, loadEmail } from '../users/index.ts';
import type { RegistrationDeps } from './deps.ts';

export interface Registration {
  readonly email: string;
  readonly password: string;
  readonly name: string | null;
}

/** The registration job (run exactly once: auth/account-jobs.ts). The account's id is the job's. */
export async function completeRegistration(deps: RegistrationDeps, job: RegistrationJob, jobId: string): Promise<void> {
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
    // The taken address's owner is warned at the address stored for the account, which
    // matches the typed one by blind index but is the one known to be theirs.
    const existing = await findUserByEmail(trx, deps.blindIndex, job.email);
    const stored = existing === null ? null : await loadEmail(trx, deps.keyring, existing.id);
    if (existing !== null && stored !== null) enqueue(deps.mail.job(signupAttemptMail(stored), { userId: existing.id }));
  });
}

export async function register(deps: RegistrationDeps, input: Registration, context: RequestContext): Promise<void> {
  // Frozen during an incident (`gatehouse incident freeze-registration on`): the same answer
  // for every request, before anything about the address or the password is looked at.
  // Registrations saved before the freeze still complete: their 202 was a promise.
  if (await deps.incidentFlags.registrationFrozen()) throw new AppError('registration_frozen', { headers: { 'retry-after': '300' } });
  const verdict = await deps.policy.check(input.password, { email: input.email, name: input.name });
  if (!verdict.ok) throw weakPasswordError(verdict);
  // Hashed here, for every address alike, so the job never holds the password.
  const passwordHash = await deps.passwords.hash(input.password);
  await deps.change(context, ({ enqueue }) => {
    enqueue(deps.accountJobs.registration.job({ email: input.email, name: input.name, passwordHash, context }));
    return Promise.resolve();
  });
}
