// Login outcomes, lockouts and refresh-token reuse are counted from the audit events
// that record them, so the flows need no metrics code and the two can never disagree
// about what happened. The observer runs inside the event's transaction: an event whose
// transaction later rolls back has still been counted, which only happens on errors.
import type { Counter } from 'prom-client';
import type { AuditObserver } from '../audit/auditor.ts';
import type { AuditEventInput } from '../audit/types.ts';

export interface AuditCounters {
  readonly logins: Counter<'outcome' | 'reason'>;
  readonly lockouts: Counter;
  readonly refreshReuse: Counter;
  readonly secondFactors: Counter<'method' | 'outcome'>;
  readonly secondFactorLockouts: Counter;
  readonly passkeyCounterRegressions: Counter;
}

// The second-factor methods the MFA flow records (`password+totp` and the like at login).
const SECOND_FACTOR_METHODS: ReadonlySet<string> = new Set(['totp', 'recovery_code', 'passkey']);

export const SECOND_FACTOR_OUTCOMES: readonly { method: string; outcome: string }[] = [...SECOND_FACTOR_METHODS, 'other'].flatMap((method) => [
  { method, outcome: 'succeeded' },
  { method, outcome: 'failed' },
]);

function secondFactorMethod(value: unknown): string {
  return typeof value === 'string' && SECOND_FACTOR_METHODS.has(value) ? value : 'other';
}

// The reasons login.ts records. Anything else becomes `other`: a label takes only
// values known here, whatever a future caller puts in its details.
const FAILURE_REASONS: ReadonlySet<string> = new Set(['unknown_account', 'wrong_password']);

export const LOGIN_OUTCOMES: readonly { outcome: string; reason: string }[] = [
  { outcome: 'succeeded', reason: 'none' },
  ...[...FAILURE_REASONS, 'other'].map((reason) => ({ outcome: 'failed', reason })),
];

function failureReason(event: AuditEventInput): string {
  const reason = event.details?.['reason'];
  return typeof reason === 'string' && FAILURE_REASONS.has(reason) ? reason : 'other';
}

export function countAuditEvents(counters: AuditCounters): AuditObserver {
  return (_trx, event) => {
    switch (event.action) {
      case 'auth.login_succeeded': {
        counters.logins.inc({ outcome: 'succeeded', reason: 'none' });
        // `password+totp`: a login completed by a second factor.
        const method = event.details?.['method'];
        if (typeof method === 'string' && method.startsWith('password+')) counters.secondFactors.inc({ method: secondFactorMethod(method.slice('password+'.length)), outcome: 'succeeded' });
        break;
      }
      case 'auth.mfa_failed':
        counters.secondFactors.inc({ method: secondFactorMethod(event.details?.['method']), outcome: 'failed' });
        break;
      case 'auth.mfa_locked':
        counters.secondFactorLockouts.inc();
        break;
      case 'passkey.counter_regression':
        counters.passkeyCounterRegressions.inc();
        break;
      case 'auth.login_failed':
        counters.logins.inc({ outcome: 'failed', reason: failureReason(event) });
        break;
      case 'auth.locked':
        counters.lockouts.inc();
        break;
      case 'token.reuse_detected':
        counters.refreshReuse.inc();
        break;
      default:
        break;
    }
  };
}
