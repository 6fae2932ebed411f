// Deleting one's own account (GDPR art. 17). DELETE /v1/me schedules the erasure after
// ACCOUNT_DELETION_GRACE_DAYS, signs the user out everywhere and mails a link that
// cancels it; logging in again and choosing to keep the account cancels it too. When it
// is due, the scheduled job `erase-requested-accounts` erases the account as an
// administrator's deletion does (features/users/erase.ts: sessions ended, rows deleted,
// data key shredded). With a grace period of 0 the erasure happens at once. The last
// active administrator cannot delete themselves (no deletion is scheduled, and a due one
// waits while they are the last).
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import type { ScheduledJob } from '../../core/jobs/scheduler.ts';
import type { Logger } from '../../core/logging.ts';
import { assertNotLastAdmin } from '../admin/index.ts';
import { consumeOneTimeToken, expireOneTimeTokens, issueOneTimeToken } from '../auth/index.ts';
import { accountDeletedMail, deletionScheduledMail, type OutgoingMail } from '../mail/index.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { eraseAccount, loadEmail } from '../users/index.ts';

const DAY_MS = 86_400_000;
/** Accounts erased per run of the job, each in its own change. */
const ERASE_BATCH = 200;
const SYSTEM: RequestContext = { ip: null, userAgent: null, requestId: null };

export interface DeletionDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  readonly clock: () => Date;
  readonly change: Changes;
  readonly mail: OutgoingMail;
  readonly publicURL: string;
  readonly graceDays: number;
}

export interface ScheduledDeletion {
  readonly requestedAt: Date;
  readonly dueAt: Date;
}

export async function scheduledDeletion(db: DB, userId: string): Promise<ScheduledDeletion | null> {
  const row = await db.selectFrom('account_deletions').select(['requested_at', 'due_at']).where('user_id', '=', userId).executeTakeFirst();
  return row === undefined ? null : { requestedAt: new Date(row.requested_at), dueAt: new Date(row.due_at) };
}

/**
 * The owner asks for their account's deletion: scheduled (answers when it is due), or
 * done at once when the grace period is 0 (answers null). Asking again while one is
 * scheduled keeps the first date and sends no new mail.
 */
export async function requestDeletion(deps: DeletionDeps, userId: string, context: RequestContext): Promise<ScheduledDeletion | null> {
  const email = await loadEmail(deps.db, deps.keyring, userId);
  if (email === null) throw new AppError('not_found', { detail: 'account gone' });
  const now = deps.clock();
  const actor = { type: 'user' as const, id: userId };
  const target = { type: 'user' as const, id: userId };
  if (deps.graceDays === 0) {
    // The record of the erasure keeps no address or user agent of the person erased.
    await deps.change({ ip: null, userAgent: null, requestId: context.requestId }, async ({ trx, audit, enqueue }) => {
      await assertNotLastAdmin(trx, userId);
      const revoked = await eraseAccount(trx, { id: userId, emailIndex: await emailIndexOf(trx, userId) }, 'user_deleted', now);
      audit({ actor, action: 'user.deleted', target, outcome: 'success', details: { reason: 'requested', sessions_revoked: revoked } });
      // Not tied to the account (it is gone): the last message to the address.
      enqueue(deps.mail.job(accountDeletedMail(email), { userId: null, essential: true }));
    });
    return null;
  }
  const dueAt = new Date(now.getTime() + deps.graceDays * DAY_MS);
  return deps.change(context, async ({ trx, audit, enqueue }) => {
    await assertNotLastAdmin(trx, userId);
    const inserted = await trx
      .insertInto('account_deletions')
      .values({ user_id: userId, requested_at: now, due_at: dueAt })
      .onConflict((conflict) => conflict.column('user_id').doNothing())
      .returning('due_at')
      .executeTakeFirst();
    if (inserted === undefined) {
      const existing = await scheduledDeletion(trx, userId);
      if (existing === null) throw new AppError('internal_error', { detail: 'deletion row vanished' });
      return existing;
    }
    const ended = await revokeUserSessions(trx, userId, 'account_deletion', now);
    const token = await issueOneTimeToken(trx, 'cancel_deletion', userId, now, { ttlSeconds: deps.graceDays * 86_400 });
    audit({ actor, action: 'user.deletion_requested', target, outcome: 'success', details: { due_at: dueAt.toISOString(), sessions_revoked: ended.length } });
    enqueue(deps.mail.job(deletionScheduledMail({ publicURL: deps.publicURL }, email, token, dueAt), { userId, essential: true }));
    return { requestedAt: now, dueAt };
  });
}

async function emailIndexOf(trx: DB, userId: string): Promise<string> {
  const row = await trx.selectFrom('users').select('email_index').where('id', '=', userId).forUpdate().executeTakeFirst();
  if (row === undefined) throw new AppError('not_found', { detail: 'account gone' });
  return row.email_index;
}

async function cancel(trx: DB, userId: string, now: Date): Promise<boolean> {
  const removed = await trx.deleteFrom('account_deletions').where('user_id', '=', userId).executeTakeFirst();
  // Whichever way it was cancelled, the mailed link is spent.
  await expireOneTimeTokens(trx, 'cancel_deletion', userId, now);
  return removed.numDeletedRows > 0n;
}

/** The signed-in owner keeps their account; false when no deletion was scheduled. */
export async function cancelDeletion(deps: DeletionDeps, userId: string, context: RequestContext): Promise<boolean> {
  const now = deps.clock();
  return deps.change(context, async ({ trx, audit }) => {
    const cancelled = await cancel(trx, userId, now);
    if (cancelled) audit({ actor: { type: 'user', id: userId }, action: 'user.deletion_cancelled', target: { type: 'user', id: userId }, outcome: 'success', details: { via: 'session' } });
    return cancelled;
  });
}

/** The mailed link keeps the account; `invalid_link` when it is unknown, used or expired. */
export async function cancelDeletionByLink(deps: DeletionDeps, token: string, context: RequestContext): Promise<void> {
  const now = deps.clock();
  await deps.change(context, async ({ trx, audit }) => {
    const userId = await consumeOneTimeToken(trx, 'cancel_deletion', token, now);
    if (userId === null) throw new AppError('invalid_link', { detail: 'cancel link unknown, used or expired' });
    if (await cancel(trx, userId, now)) {
      audit({ actor: { type: 'user', id: userId }, action: 'user.deletion_cancelled', target: { type: 'user', id: userId }, outcome: 'success', details: { via: 'link' } });
    }
  });
}

/** Erases one account whose deletion is due; false when it is not (cancelled since, or the last admin). */
async function eraseDue(deps: DeletionDeps & { readonly log: Logger }, userId: string, now: Date): Promise<boolean> {
  const email = await loadEmail(deps.db, deps.keyring, userId);
  return deps.change(SYSTEM, async ({ trx, audit, enqueue }) => {
    const due = await trx.selectFrom('account_deletions').select('user_id').where('user_id', '=', userId).where('due_at', '<=', now).forUpdate().executeTakeFirst();
    if (due === undefined) return false;
    try {
      await assertNotLastAdmin(trx, userId);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'last_admin') throw error;
      deps.log.warn({ user_id: userId }, 'requested account deletion waits: the account is the last active administrator');
      return false;
    }
    const revoked = await eraseAccount(trx, { id: userId, emailIndex: await emailIndexOf(trx, userId) }, 'user_deleted', now);
    audit({ actor: { type: 'system', id: 'deletion' }, action: 'user.deleted', target: { type: 'user', id: userId }, outcome: 'success', details: { reason: 'requested', sessions_revoked: revoked } });
    if (email !== null) enqueue(deps.mail.job(accountDeletedMail(email), { userId: null, essential: true }));
    return true;
  });
}

export function deletionJob(deps: DeletionDeps & { readonly log: Logger }): ScheduledJob {
  return {
    name: 'erase-requested-accounts',
    everySeconds: 900,
    description: 'accounts whose owner asked for deletion, once the grace period is over: erased (sessions ended, rows deleted, data key shredded), audited, a last mail sent',
    run: async (db: DB, now: Date) => {
      const due = await db.selectFrom('account_deletions').select('user_id').where('due_at', '<=', now).orderBy('due_at').limit(ERASE_BATCH).execute();
      let erased = 0;
      for (const { user_id: userId } of due) if (await eraseDue(deps, userId, now)) erased += 1;
      return erased;
    },
  };
}
