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
      case 'auth.login_succeeded':
        counters.logins.inc({ outcome: 'succeeded', reason: 'none' });
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
