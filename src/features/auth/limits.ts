// The request budgets of the account flows, declared on each flow's routes (the routes.ts
// of login, registration, verification, recovery and sessions, and /v1/me/password in
// settings). Maxima and windows come from configuration, except the mail cap, which is a
// fixed promise to every inbox.
import type { RouteLimit } from '../../core/http/rate-limit.ts';

export interface AuthLimits {
  /** Every /v1/auth route, per client address: tighter than the global budget. */
  readonly address: RouteLimit;
  /**
   * Requests naming one account from one address: password guesses (login, password
   * change) and mail requests. Lockout (features/lockout) is the per-account rule on top.
   */
  readonly account: RouteLimit;
  /** Requests for mail to one address, whoever asks: no inbox can be flooded. */
  readonly recipient: RouteLimit;
}

interface Budget {
  readonly max: number;
  readonly windowSeconds: number;
}

export const MAIL_PER_RECIPIENT: Budget = { max: 5, windowSeconds: 3600 };

export function authLimits(settings: { readonly ipLimit: Budget; readonly accountLimit: Budget }): AuthLimits {
  const { ipLimit, accountLimit } = settings;
  return {
    address: { name: 'auth-address', key: 'address', max: ipLimit.max, windowMs: ipLimit.windowSeconds * 1000 },
    account: { name: 'auth-account', key: 'address+account', max: accountLimit.max, windowMs: accountLimit.windowSeconds * 1000 },
    recipient: { name: 'mail-recipient', key: 'recipient', max: MAIL_PER_RECIPIENT.max, windowMs: MAIL_PER_RECIPIENT.windowSeconds * 1000 },
  };
}
