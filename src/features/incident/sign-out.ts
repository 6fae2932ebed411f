// `gatehouse incident sign-out` and POST /v1/admin/incident/sign-out: every live session of
// the scope ends at once. It is the admin API's "sign out everywhere" for many users: the
// same revocation (sessions' revokeSessionsOf, the bulk form of revokeUserSessions), the
// same `session.revoked` record per session, through the same change, whose commit drops
// the sessions' cached liveness here and, announced over Redis, on every instance; so
// their access tokens are refused within the session cache's one second at most, and
// their refresh tokens at once. Sessions end a batch per transaction (one UPDATE each,
// never a round trip per session), and the last batch also writes the run's one summary
// record, `incident.sign_out`, with the count. A second run finds nothing live: it ends
// nothing and its summary says 0.
import { scopeDetails, type ContainmentScope } from './scope.ts';
import { assertScopeExists, sessionOwners } from './targets.ts';
import { revokeSessionsOf } from '../sessions/index.ts';
import type { ContainmentActor, IncidentDeps } from './deps.ts';

/** Sessions ended per transaction: bounds how long the rows and the audit chain stay locked. */
export const SIGN_OUT_BATCH = 500;
export const SIGN_OUT_REASON = 'incident_sign_out';

export interface SignOutResult {
  readonly revoked: number;
}

export async function signOutSessions(
  deps: Pick<IncidentDeps, 'db' | 'clock' | 'change'>,
  by: ContainmentActor,
  scope: ContainmentScope,
  options: { readonly keepSession?: string } = {},
): Promise<SignOutResult> {
  await assertScopeExists(deps.db, scope);
  const owners = sessionOwners(scope);
  let revoked = 0;
  for (;;) {
    const ended = await deps.change(by.context, async ({ trx, audit }) => {
      const now = deps.clock();
      const batch = await revokeSessionsOf(trx, owners, SIGN_OUT_REASON, now, { limit: SIGN_OUT_BATCH, ...(options.keepSession === undefined ? {} : { except: options.keepSession }) });
      for (const session of batch) {
        audit({ actor: by.actor, action: 'session.revoked', target: { type: 'session', id: session.id }, outcome: 'success', details: { reason: SIGN_OUT_REASON, user_id: session.userId } });
      }
      if (batch.length < SIGN_OUT_BATCH) {
        audit({
          actor: by.actor,
          action: 'incident.sign_out',
          outcome: 'success',
          details: { ...scopeDetails(scope), sessions_revoked: revoked + batch.length, kept_session: options.keepSession ?? null },
        });
      }
      return batch.length;
    });
    revoked += ended;
    if (ended < SIGN_OUT_BATCH) return { revoked };
  }
}
