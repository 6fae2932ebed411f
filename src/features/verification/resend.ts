// Verification resend. It answers the same for every address: one sealed job
// (auth/account-jobs.ts), committed before the 202; the job mails a new link only to an
// unverified, enabled account.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { issueOneTimeToken, type AddressJob } from '../auth/index.ts';
import { verificationMail } from '../mail/index.ts';
import { findUserByEmailIndex, loadEmail } from '../users/index.ts';
import type { VerificationDeps } from './deps.ts';

/** The verification-resend job: a new link, only to an unverified, enabled account. */
export async function resendVerification(deps: VerificationDeps, job: AddressJob): Promise<void> {
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
export async function requestVerificationMail(deps: VerificationDeps, email: string, context: RequestContext): Promise<void> {
  await deps.change(context, ({ enqueue }) => {
    enqueue(deps.accountJobs.verificationResend.job({ email, context }));
    return Promise.resolve();
  });
}
