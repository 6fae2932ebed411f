// Every place that checks a password against an account takes the account's lockout
// reservation first, before the password is evaluated: login and password change both
// go through here. (Their request budgets, per address and account, are declared on
// the routes: limits.ts. Lockout is not a budget but a rule about the account.)
import { AppError } from '../../core/errors.ts';
import type { AuthDeps } from './deps.ts';

/** Throws 429 unless a password attempt against `subject` (an email blind index) may proceed. */
export async function reserveCredentialAttempt(deps: AuthDeps, subject: string): Promise<void> {
  const reservation = await deps.lockout.reserveAttempt(subject);
  if (!reservation.allowed) {
    throw new AppError('rate_limited', { detail: 'account locked', headers: { 'retry-after': String(reservation.retryAfterSeconds) } });
  }
}
