// `gatehouse incident force-password-reset`: the scope's passwords are no longer trusted.
// Each user is marked (`users.password_reset_required_at`), their live sessions end and
// their half-done logins go (the same bulk revocation as sign-out), and from then on a
// login with the correct password answers `password_reset_required` (features/login)
// until the mailed reset link sets a new password (features/recovery clears the mark).
// With `notify`, each newly marked active user is sent the reset mail the admin API sends
// (a one-time link, mailed by a durable job written in the same transaction).
//
// Users are marked a batch per transaction; only users not yet marked are selected, so a
// second run marks nobody, ends nothing and mails nobody, and its summary record
// (`incident.password_reset_forced`) says 0. Each marked user gets a
// `password.reset_required` record naming the sessions ended, as the admin API's reset
// does, which also drops everything cached about the user on every instance after commit.
import type { Change } from '../../core/change.ts';
import type { DB } from '../../core/db/database.ts';
import { issueOneTimeToken } from '../auth/index.ts';
import { passwordResetMail } from '../mail/index.ts';
import { revokeSessionsOf } from '../sessions/index.ts';
import { loadEmail } from '../users/index.ts';
import type { ContainmentActor, IncidentDeps } from './deps.ts';
import { scopeDetails, type ContainmentScope } from './scope.ts';
import { assertScopeExists } from './targets.ts';

/** Users marked per transaction. */
export const FORCE_RESET_BATCH = 200;
export const FORCE_RESET_REASON = 'password_reset_forced';

export interface ForceResetResult {
  readonly marked: number;
  readonly sessionsRevoked: number;
  readonly notified: number;
}

interface MarkedUser {
  readonly id: string;
  readonly status: 'active' | 'disabled';
}

/** Marks up to `limit` users of the scope not marked yet, in one statement; returns them. */
async function markUsers(trx: DB, scope: ContainmentScope, now: Date, limit: number): Promise<MarkedUser[]> {
  let unmarked = trx.selectFrom('users').select('users.id').where('password_reset_required_at', 'is', null);
  if (scope.kind === 'role') unmarked = unmarked.where('users.id', 'in', trx.selectFrom('user_roles').select('user_roles.user_id').where('user_roles.role', '=', scope.role));
  if (scope.kind === 'user') unmarked = unmarked.where('users.id', '=', scope.userId);
  return trx
    .updateTable('users')
    .set({ password_reset_required_at: now, updated_at: now })
    .where('id', 'in', unmarked.orderBy('users.id').limit(limit).forUpdate())
    .returning(['id', 'status'])
    .execute();
}

async function notify(deps: Pick<IncidentDeps, 'keyring' | 'mail' | 'publicURL'>, change: Pick<Change, 'trx' | 'enqueue'>, userId: string, now: Date): Promise<boolean> {
  const email = await loadEmail(change.trx, deps.keyring, userId);
  if (email === null) return false;
  const token = await issueOneTimeToken(change.trx, 'password_reset', userId, now);
  change.enqueue(deps.mail.job(passwordResetMail({ publicURL: deps.publicURL }, email, token), { userId, essential: true }));
  return true;
}

export async function forcePasswordReset(deps: IncidentDeps, by: ContainmentActor, scope: ContainmentScope, options: { readonly notify: boolean }): Promise<ForceResetResult> {
  await assertScopeExists(deps.db, scope);
  const total = { marked: 0, sessionsRevoked: 0, notified: 0 };
  for (;;) {
    const batch = await deps.change(by.context, async ({ trx, audit, enqueue }) => {
      const now = deps.clock();
      const marked = await markUsers(trx, scope, now, FORCE_RESET_BATCH);
      const ended = await revokeSessionsOf(trx, { kind: 'users', ids: marked.map((user) => user.id) }, FORCE_RESET_REASON, now, { limit: Number.MAX_SAFE_INTEGER });
      const endedByUser = new Map<string, number>();
      for (const session of ended) endedByUser.set(session.userId, (endedByUser.get(session.userId) ?? 0) + 1);
      let notified = 0;
      for (const user of marked) {
        // A disabled account gets no mail, as with the admin API's reset.
        const mailed = options.notify && user.status === 'active' && (await notify(deps, { trx, enqueue }, user.id, now));
        if (mailed) notified += 1;
        audit({
          actor: by.actor,
          action: 'password.reset_required',
          target: { type: 'user', id: user.id },
          outcome: 'success',
          details: { sessions_revoked: endedByUser.get(user.id) ?? 0, notified: mailed },
        });
      }
      const counts = { marked: marked.length, sessionsRevoked: ended.length, notified };
      if (marked.length < FORCE_RESET_BATCH) {
        audit({
          actor: by.actor,
          action: 'incident.password_reset_forced',
          outcome: 'success',
          details: {
            ...scopeDetails(scope),
            users_marked: total.marked + counts.marked,
            sessions_revoked: total.sessionsRevoked + counts.sessionsRevoked,
            notify: options.notify,
            notified: total.notified + counts.notified,
          },
        });
      }
      return counts;
    });
    total.marked += batch.marked;
    total.sessionsRevoked += batch.sessionsRevoked;
    total.notified += batch.notified;
    if (batch.marked < FORCE_RESET_BATCH) return total;
  }
}
