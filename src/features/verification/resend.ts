// Verification resend. It answers the same for every address: one sealed job
// (auth/account-jobs.ts), committed before the 202; the job mails a new link only to an
// unverified, enabled account.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { mailOneTimeLink, type AddressJob } from '../auth/index.ts';
import { verificationMail } from '../mail/index.ts';
import { findUserByEmail } from '../users/index.ts';
import type { VerificationDeps } from './deps.ts';

/** The verification-resend job: a new link, only to an unverified, enabled account. */
export async function resendVerification(deps: VerificationDeps, job: AddressJob): Promise<void> {
  const user = await findUserByEmail(deps.db, deps.blindIndex, job.email);
  if (user === null || user.emailVerified || user.status === 'disabled') return;
  await mailOneTimeLink(deps, job.context, {
    userId: user.id,
    purpose: 'verify_email',
    action: 'user.verification_resent',
    message: (address, token) => verificationMail({ publicURL: deps.publicURL }, address, token),
  });
}

/** Answers the same for every address; the job mails a new link only to an unverified account. */
export async function requestVerificationMail(deps: VerificationDeps, email: string, context: RequestContext): Promise<void> {
  await deps.change(context, ({ enqueue }) => {
    enqueue(deps.accountJobs.verificationResend.job({ email, context }));
    return Promise.resolve();
  });
}
