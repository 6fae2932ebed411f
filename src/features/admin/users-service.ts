// What an administrator does to other accounts. Each action checks who may act on whom
// (guards.ts), then changes state and writes its audit record, naming the acting user,
// through one change (core/change.ts), which drops the user's cached permissions,
// profile and sessions after the commit.
import type { AuditEvent, RequestContext } from '../../core/audit/auditor.ts';
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { issueOneTimeToken, secondFactorCounter } from '../auth/index.ts';
import { ADMIN_ROLE } from '../authorization/index.ts';
import { assignRole, findRole, removeRole } from '../authorization/index.ts';
import { passwordResetMail } from '../mail/index.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { eraseAccount, findUserById, loadEmail, lockoutSubjectsOf, updateName, type UserRecord } from '../users/index.ts';
import type { AdminUserDeps } from './deps.ts';
import { assertHoldsAll, assertMayManage, assertNotLastAdmin } from './guards.ts';

export interface AdminActor {
  readonly userId: string;
  readonly context: RequestContext;
}

async function existingUser(db: DB, id: string): Promise<UserRecord> {
  const user = await findUserById(db, id);
  if (user === null) throw new AppError('not_found', { detail: 'no such user' });
  return user;
}

/** The record of an admin's action on a user; after the commit it drops what was cached of that user. */
function onUser(actor: AdminActor, action: string, targetId: string, details?: Record<string, unknown>): AuditEvent {
  return {
    actor: { type: 'user', id: actor.userId },
    action,
    target: { type: 'user', id: targetId },
    outcome: 'success',
    ...(details === undefined ? {} : { details }),
  };
}

export async function updateUserByAdmin(
  deps: AdminUserDeps,
  actor: AdminActor,
  id: string,
  patch: { readonly status?: 'active' | 'disabled'; readonly name?: string | null },
): Promise<void> {
  const user = await existingUser(deps.db, id);
  await assertMayManage(deps.db, deps.authorizer, actor.userId, id);
  const now = deps.clock();
  await deps.change(actor.context, async ({ trx, audit }) => {
    let ended: string[] = [];
    if (patch.status !== undefined && patch.status !== user.status) {
      if (patch.status === 'disabled') {
        await assertNotLastAdmin(trx, id);
        // Disabling ends every session at once, not at the access token's expiry.
        ended = await revokeUserSessions(trx, id, 'user_disabled', now);
      }
      await trx.updateTable('users').set({ status: patch.status, updated_at: now }).where('id', '=', id).execute();
      audit(onUser(actor, patch.status === 'disabled' ? 'user.disabled' : 'user.enabled', id, { sessions_revoked: ended.length }));
    }
    if (patch.name !== undefined) {
      await updateName(trx, deps.keyring, id, patch.name, now);
      audit(onUser(actor, 'user.updated', id, { fields: ['name'] }));
    }
  });
}

export async function deleteUserByAdmin(deps: AdminUserDeps, actor: AdminActor, id: string): Promise<void> {
  const user = await existingUser(deps.db, id);
  await assertMayManage(deps.db, deps.authorizer, actor.userId, id);
  await deps.change(actor.context, async ({ trx, audit }) => {
    await assertNotLastAdmin(trx, id);
    const revoked = await eraseAccount(trx, { id, emailIndex: user.emailIndex }, 'user_deleted', deps.clock());
    audit(onUser(actor, 'user.deleted', id, { sessions_revoked: revoked }));
  });
}

export async function setUserRole(deps: AdminUserDeps, actor: AdminActor, id: string, role: string, change: 'assign' | 'remove'): Promise<void> {
  await existingUser(deps.db, id);
  await deps.change(actor.context, async ({ trx, audit }) => {
    // Checked against the role as it stands when the change commits (row locked).
    const stored = await findRole(trx, role, { forUpdate: true });
    if (stored === null) throw new AppError('not_found', { detail: 'no such role' });
    await assertHoldsAll(deps.authorizer, actor.userId, stored.permissions);
    await assertMayManage(trx, deps.authorizer, actor.userId, id);
    if (change === 'remove' && role === ADMIN_ROLE) await assertNotLastAdmin(trx, id);
    const done = change === 'assign' ? await assignRole(trx, id, role, deps.clock()) : await removeRole(trx, id, role);
    if (done) audit(onUser(actor, change === 'assign' ? 'role.assigned' : 'role.removed', id, { role }));
  });
}

export async function unlockUserByAdmin(deps: AdminUserDeps, actor: AdminActor, id: string): Promise<void> {
  const user = await existingUser(deps.db, id);
  // Lifting an admin's lockout would hand a password guesser fresh attempts.
  await assertMayManage(deps.db, deps.authorizer, actor.userId, id);
  await deps.change(actor.context, async ({ trx, audit }) => {
    for (const subject of await lockoutSubjectsOf(trx, deps, user)) await deps.lockout.unlock(subject, { trx });
    await deps.lockout.unlock(secondFactorCounter(id, null), { trx });
    audit(onUser(actor, 'user.unlocked', id));
  });
}

export async function revokeSessionsByAdmin(deps: AdminUserDeps, actor: AdminActor, id: string): Promise<number> {
  await existingUser(deps.db, id);
  // Otherwise support could sign every admin out, over and over, during an incident.
  await assertMayManage(deps.db, deps.authorizer, actor.userId, id);
  const revoked = await deps.change(actor.context, async ({ trx, audit }) => {
    const ended = await revokeUserSessions(trx, id, 'admin_revoked', deps.clock());
    for (const sessionId of ended) {
      audit({
        actor: { type: 'user', id: actor.userId },
        action: 'session.revoked',
        target: { type: 'session', id: sessionId },
        outcome: 'success',
        details: { reason: 'admin_revoked', user_id: id },
      });
    }
    return ended;
  });
  return revoked.length;
}

/** Ends every session and mails a reset link to the stored address. */
export async function sendPasswordResetByAdmin(deps: AdminUserDeps, actor: AdminActor, id: string): Promise<void> {
  const user = await existingUser(deps.db, id);
  await assertMayManage(deps.db, deps.authorizer, actor.userId, id);
  const email = await loadEmail(deps.db, deps.keyring, id);
  if (email === null || user.status === 'disabled') throw new AppError('conflict', { detail: 'user has no address or is disabled' });
  const now = deps.clock();
  await deps.change(actor.context, async ({ trx, audit, enqueue }) => {
    const token = await issueOneTimeToken(trx, 'password_reset', id, now);
    const ended = await revokeUserSessions(trx, id, 'admin_password_reset', now);
    audit(onUser(actor, 'password.reset_requested', id, { by_admin: true, sessions_revoked: ended.length }));
    enqueue(deps.mail.job(passwordResetMail({ publicURL: deps.publicURL }, email, token), { userId: id, essential: true }));
  });
}
