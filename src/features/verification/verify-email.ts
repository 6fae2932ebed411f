import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { consumeOneTimeToken } from '../auth/index.ts';
import { markEmailVerified } from '../users/index.ts';
import type { VerificationDeps } from './deps.ts';

export async function verifyEmail(deps: VerificationDeps, token: string, context: RequestContext): Promise<void> {
  const now = deps.clock();
  const verified = await deps.change(context, async ({ trx, audit }) => {
    const userId = await consumeOneTimeToken(trx, 'verify_email', token, now);
    if (userId === null) return null;
    await markEmailVerified(trx, userId, now);
    audit({
      actor: { type: 'user', id: userId },
      action: 'user.email_verified',
      target: { type: 'user', id: userId },
      outcome: 'success',
    });
    return userId;
  });
  if (verified === null) throw new AppError('invalid_link', { detail: 'verification token unknown, used or expired' });
}
