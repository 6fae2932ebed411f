// Registration. The answer is decided before any account is looked at: 202 for every
// well-formed request with an acceptable password. Hashing, the insert and the mail
// happen after the response, so status, body and timing are the same whether the
// address is new or taken (the taken address's owner gets a warning mail instead).
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { signupAttemptMail, verificationMail } from '../mail/index.ts';
import { findUserByEmailIndex, insertUser, loadEmail } from '../users/index.ts';
import type { AuthDeps } from './deps.ts';
import { issueOneTimeToken } from './one-time-tokens.ts';
import { weakPasswordError } from './password-rules.ts';

export interface Registration {
  readonly email: string;
  readonly password: string;
  readonly name: string | null;
}

async function completeRegistration(deps: AuthDeps, input: Registration, context: RequestContext): Promise<void> {
  const passwordHash = await deps.passwords.hash(input.password);
  const now = deps.clock();
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const userId = await insertUser(trx, deps, { email: input.email, name: input.name, passwordHash, emailVerified: false, now });
    if (userId === null) return { kind: 'taken' as const };
    const token = await issueOneTimeToken(trx, 'verify_email', userId, now);
    await deps.audit.record(trx, context, {
      actor: { type: 'user', id: userId },
      action: 'user.registered',
      target: { type: 'user', id: userId },
      outcome: 'success',
    });
    return { kind: 'created' as const, token };
  });
  const emailIndex = deps.blindIndex.email(input.email);
  if (outcome.kind === 'created') {
    deps.mailer.enqueue(verificationMail({ publicURL: deps.publicURL }, input.email, outcome.token));
  } else if ((await findUserByEmailIndex(deps.db, emailIndex)) !== null) {
    deps.mailer.enqueue(signupAttemptMail(input.email));
  }
}

async function resendVerification(deps: AuthDeps, email: string, context: RequestContext): Promise<void> {
  const emailIndex = deps.blindIndex.email(email);
  const user = await findUserByEmailIndex(deps.db, emailIndex);
  if (user === null || user.emailVerified || user.status === 'disabled') return;
  const now = deps.clock();
  const token = await deps.db.transaction().execute(async (trx) => {
    const issued = await issueOneTimeToken(trx, 'verify_email', user.id, now);
    await deps.audit.record(trx, context, {
      actor: { type: 'anonymous' },
      action: 'user.verification_resent',
      target: { type: 'user', id: user.id },
      outcome: 'success',
    });
    return issued;
  });
  const stored = await loadEmail(deps.db, deps.keyring, user.id);
  if (stored !== null) deps.mailer.enqueue(verificationMail({ publicURL: deps.publicURL }, stored, token));
}

/** Answers the same for every address; mails a new link only to an unverified account. */
export function requestVerificationMail(deps: AuthDeps, email: string, context: RequestContext): void {
  if (!deps.background.run('resend-verification', () => resendVerification(deps, email, context))) {
    throw new AppError('service_unavailable', { detail: 'verification queue full' });
  }
}

export function register(deps: AuthDeps, input: Registration, context: RequestContext): void {
  const verdict = deps.policy.check(input.password, { email: input.email, name: input.name });
  if (!verdict.ok) throw weakPasswordError(verdict);
  if (!deps.background.run('register', () => completeRegistration(deps, input, context))) {
    throw new AppError('service_unavailable', { detail: 'registration queue full' });
  }
}
