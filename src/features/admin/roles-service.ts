// Custom roles. Built-in roles are fixed by the code (permissions.ts); a custom role is
// a named set of catalog permissions, and whoever defines or changes one must hold every
// permission it grants, before and after the change.
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { isBuiltInRole } from '../authorization/index.ts';
import { deleteRole, findRole, insertRole, replaceRole, type StoredRole } from '../authorization/index.ts';
import type { AdminRoleDeps } from './deps.ts';
import { assertHoldsAll } from './guards.ts';
import type { AdminActor } from './users-service.ts';

export interface RoleInput {
  readonly description: string;
  readonly permissions: readonly string[];
}

async function customRole(db: DB, name: string): Promise<StoredRole> {
  const role = await findRole(db, name, { forUpdate: true });
  if (role === null) throw new AppError('not_found', { detail: 'no such role' });
  if (role.builtIn || isBuiltInRole(name)) throw new AppError('built_in_role');
  return role;
}

export async function createCustomRole(deps: AdminRoleDeps, actor: AdminActor, name: string, input: RoleInput): Promise<void> {
  if (isBuiltInRole(name)) throw new AppError('built_in_role');
  const permissions = [...new Set(input.permissions)].sort();
  await assertHoldsAll(deps.authorizer, actor.userId, permissions);
  const created = await deps.change(actor.context, async ({ trx, audit }) => {
    const inserted = await insertRole(trx, { name, description: input.description, permissions, now: deps.clock() });
    if (inserted) {
      audit({
        actor: { type: 'user', id: actor.userId },
        action: 'role.created',
        target: { type: 'role', id: name },
        outcome: 'success',
        details: { permissions },
      });
    }
    return inserted;
  });
  if (!created) throw new AppError('conflict', { detail: 'role exists' });
}

export async function replaceCustomRole(deps: AdminRoleDeps, actor: AdminActor, name: string, input: RoleInput): Promise<void> {
  const permissions = [...new Set(input.permissions)].sort();
  await deps.change(actor.context, async ({ trx, audit }) => {
    // Read and checked under the role's row lock: the old set is the one being replaced.
    const role = await customRole(trx, name);
    // Holding the old set too: otherwise one could strip a permission they lack from
    // everyone holding the role.
    await assertHoldsAll(deps.authorizer, actor.userId, [...role.permissions, ...permissions]);
    await replaceRole(trx, { name, description: input.description, permissions, now: deps.clock() });
    audit({
      actor: { type: 'user', id: actor.userId },
      action: 'role.updated',
      target: { type: 'role', id: name },
      outcome: 'success',
      details: { permissions, previous: role.permissions },
    });
  });
}

export async function deleteCustomRole(deps: AdminRoleDeps, actor: AdminActor, name: string): Promise<void> {
  await deps.change(actor.context, async ({ trx, audit }) => {
    const role = await customRole(trx, name);
    await assertHoldsAll(deps.authorizer, actor.userId, role.permissions);
    const holders = await deleteRole(trx, name);
    audit({
      actor: { type: 'user', id: actor.userId },
      action: 'role.deleted',
      target: { type: 'role', id: name },
      outcome: 'success',
      details: { permissions: role.permissions, holders: holders.length },
    });
  });
}
