// The checks every administrative change passes before it is made. Each throws the
// public error for its refusal; none reveals more than the route's permission already
// lets the caller see.
import { AppError } from '../../core/errors.ts';
import type { DB } from '../../core/db/database.ts';
import type { Authorizer } from '../authorization/index.ts';
import { missingPermissions } from '../authorization/index.ts';
import { activeAdminIds, lockAdminGuard, permissionsOfUser } from '../authorization/index.ts';

/** No self-escalation: nobody grants (or takes away) a permission they do not hold themselves. */
export async function assertHoldsAll(authorizer: Authorizer, actorId: string, permissions: Iterable<string>): Promise<void> {
  const held = await authorizer.permissionsOf(actorId);
  const missing = missingPermissions(held, permissions);
  if (missing.length > 0) throw new AppError('forbidden', { detail: `would grant or revoke permissions the actor lacks: ${missing.join(',')}` });
}

/**
 * An actor changes only users whose permissions are a subset of their own: someone with
 * `users:write` through a custom role cannot disable, delete or reset an admin, support
 * cannot end an admin's sessions or lift an admin's lockout. A disabled account counts
 * with what its roles grant, so a disabled admin cannot be re-enabled or deleted by them.
 */
export async function assertMayManage(db: DB, authorizer: Authorizer, actorId: string, targetId: string): Promise<void> {
  if (actorId === targetId) return;
  const [held, target] = await Promise.all([authorizer.permissionsOf(actorId), permissionsOfUser(db, targetId, { evenIfDisabled: true })]);
  const missing = missingPermissions(held, target);
  if (missing.length > 0) throw new AppError('forbidden', { detail: 'target holds permissions the actor lacks' });
}

/**
 * Call inside the transaction that removes, disables, deletes or demotes `userId`: if
 * they are an active admin and no other active admin exists, refuse. The count runs
 * under a transaction-scoped lock, so two admins demoting each other at once cannot
 * both pass.
 */
export async function assertNotLastAdmin(trx: DB, userId: string): Promise<void> {
  await lockAdminGuard(trx);
  const admins = await activeAdminIds(trx);
  if (admins.length === 1 && admins[0] === userId) throw new AppError('last_admin', { detail: 'would leave no active admin' });
}
