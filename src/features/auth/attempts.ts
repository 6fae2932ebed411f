// Every place that checks a password against an account draws on the same budgets: the
// per-address-and-account limiter and the account's lockout reservation, taken before
// the password is evaluated. Login and password change both go through here.
import { AppError } from '../../core/errors.ts';
import { clientAddressKey } from '../../core/http/client-address.ts';
import type { AuthDeps } from './deps.ts';

function rateLimited(retryAfterSeconds: number, detail: string): AppError {
  return new AppError('rate_limited', { detail, headers: { 'retry-after': String(retryAfterSeconds) } });
}

/** Throws 429 unless a password attempt against `subject` (an email blind index) may proceed. */
export async function reserveCredentialAttempt(deps: AuthDeps, subject: string, ip: string): Promise<void> {
  const perAccount = await deps.limits.account.consume(`${clientAddressKey(ip)}|${subject}`);
  if (!perAccount.allowed) throw rateLimited(perAccount.retryAfterSeconds, 'per-address account limit');
  const reservation = await deps.lockout.reserveAttempt(subject);
  if (!reservation.allowed) throw rateLimited(reservation.retryAfterSeconds, 'account locked');
}
