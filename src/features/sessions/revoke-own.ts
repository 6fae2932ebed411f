// Ending one of the caller's own sessions: logout (the current one) and DELETE
// /v1/me/sessions/{id} (settings). Scoped by the caller's user id, so another user's
// session id changes nothing; the revocation and its audit record share one transaction.
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { AuthContext } from '../auth/index.ts';
import type { SessionsDeps } from './deps.ts';
import { revokeSession } from './repo.ts';

export async function revokeOwnSession(deps: Pick<SessionsDeps, 'clock' | 'change'>, auth: AuthContext, sessionId: string, reason: string, context: RequestContext): Promise<boolean> {
  const now = deps.clock();
  return deps.change(context, async ({ trx, audit }) => {
    const done = await revokeSession(trx, auth.userId, sessionId, reason, now);
    if (done) {
      audit({
        actor: { type: 'user', id: auth.userId },
        action: 'session.revoked',
        target: { type: 'session', id: sessionId },
        outcome: 'success',
        details: { reason },
      });
    }
    return done;
  });
}
