// Roles, their permissions and who holds them. Functions take the database or the
// caller's transaction first, so a change and its audit record share one transaction.
import { sql } from 'kysely';
import type { DB } from '../../core/db/database.ts';
import { ADMIN_ROLE, BUILT_IN_ROLES } from './permissions.ts';

export interface StoredRole {
  readonly name: string;
  readonly description: string;
  readonly builtIn: boolean;
  readonly permissions: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Makes the built-in roles' rows match the code (a new permission reaches `admin` at the next start). */
export async function ensureBuiltInRoles(db: DB, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const role of BUILT_IN_ROLES) {
      await trx
        .insertInto('roles')
        .values({ name: role.name, description: role.description, built_in: true, created_at: now, updated_at: now })
        .onConflict((conflict) => conflict.column('name').doUpdateSet({ built_in: true, description: role.description }))
        .execute();
      const stored = await trx.selectFrom('role_permissions').select('permission').where('role', '=', role.name).execute();
      const have = new Set(stored.map((row) => row.permission));
      const want = new Set<string>(role.permissions);
      const extra = [...have].filter((permission) => !want.has(permission));
      const missing = [...want].filter((permission) => !have.has(permission));
      if (extra.length > 0) await trx.deleteFrom('role_permissions').where('role', '=', role.name).where('permission', 'in', extra).execute();
      if (missing.length > 0) {
        // Another instance starting at the same moment may insert the same rows.
        await trx
          .insertInto('role_permissions')
          .values(missing.map((permission) => ({ role: role.name, permission })))
          .onConflict((conflict) => conflict.columns(['role', 'permission']).doNothing())
          .execute();
      }
    }
  });
}

/**
 * Every permission the user holds through their roles: none when the user is disabled
 * or gone. With `evenIfDisabled`, what the roles grant whatever the account's status (the
 * powers a disabled account would get back on being enabled): guards compare against
 * that, so disabling an admin does not put them within reach of lesser roles.
 */
export async function permissionsOfUser(db: DB, userId: string, options: { evenIfDisabled?: boolean } = {}): Promise<Set<string>> {
  const rows = await db
    .selectFrom('user_roles')
    .innerJoin('role_permissions', 'role_permissions.role', 'user_roles.role')
    .innerJoin('users', 'users.id', 'user_roles.user_id')
    .select('role_permissions.permission')
    .distinct()
    .where('user_roles.user_id', '=', userId)
    .$if(options.evenIfDisabled !== true, (query) => query.where('users.status', '=', 'active'))
    .execute();
  return new Set(rows.map((row) => row.permission));
}

export async function permissionsOfRole(db: DB, role: string): Promise<string[]> {
  const rows = await db.selectFrom('role_permissions').select('permission').where('role', '=', role).orderBy('permission').execute();
  return rows.map((row) => row.permission);
}

/**
 * `forUpdate` (inside a transaction) locks the role's row until the transaction ends, so
 * the permissions a guard checked are the ones in force when the change commits: a
 * concurrent PUT of the role waits, as its UPDATE needs the same row.
 */
export async function findRole(db: DB, name: string, options: { forUpdate?: boolean } = {}): Promise<StoredRole | null> {
  const query = db.selectFrom('roles').selectAll().where('name', '=', name);
  const row = await (options.forUpdate === true ? query.forUpdate() : query).executeTakeFirst();
  if (row === undefined) return null;
  return {
    name: row.name,
    description: row.description,
    builtIn: row.built_in,
    permissions: await permissionsOfRole(db, name),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function listRoleDefinitions(db: DB): Promise<StoredRole[]> {
  const rows = await db.selectFrom('roles').selectAll().orderBy('name').limit(1000).execute();
  const grants = await db.selectFrom('role_permissions').select(['role', 'permission']).orderBy('permission').execute();
  return rows.map((row) => ({
    name: row.name,
    description: row.description,
    builtIn: row.built_in,
    permissions: grants.filter((grant) => grant.role === row.name).map((grant) => grant.permission),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

/** False when a role of that name exists. */
export async function insertRole(trx: DB, role: { name: string; description: string; permissions: readonly string[]; now: Date }): Promise<boolean> {
  const inserted = await trx
    .insertInto('roles')
    .values({ name: role.name, description: role.description, built_in: false, created_at: role.now, updated_at: role.now })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .returning('name')
    .executeTakeFirst();
  if (inserted === undefined) return false;
  if (role.permissions.length > 0) {
    await trx.insertInto('role_permissions').values(role.permissions.map((permission) => ({ role: role.name, permission }))).execute();
  }
  return true;
}

export async function replaceRole(trx: DB, role: { name: string; description: string; permissions: readonly string[]; now: Date }): Promise<void> {
  await trx.updateTable('roles').set({ description: role.description, updated_at: role.now }).where('name', '=', role.name).execute();
  await trx.deleteFrom('role_permissions').where('role', '=', role.name).execute();
  if (role.permissions.length > 0) {
    await trx.insertInto('role_permissions').values(role.permissions.map((permission) => ({ role: role.name, permission }))).execute();
  }
}

/** Deletes a custom role (and, by cascade, its assignments); returns the users who held it. */
export async function deleteRole(trx: DB, name: string): Promise<string[]> {
  const holders = await trx.selectFrom('user_roles').select('user_id').where('role', '=', name).execute();
  await trx.deleteFrom('roles').where('name', '=', name).where('built_in', '=', false).execute();
  return holders.map((row) => row.user_id);
}

/** False when the user already held the role. */
export async function assignRole(trx: DB, userId: string, role: string, now: Date): Promise<boolean> {
  const inserted = await trx
    .insertInto('user_roles')
    .values({ user_id: userId, role, granted_at: now })
    .onConflict((conflict) => conflict.columns(['user_id', 'role']).doNothing())
    .returning('role')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** False when the user did not hold the role. */
export async function removeRole(trx: DB, userId: string, role: string): Promise<boolean> {
  const result = await trx.deleteFrom('user_roles').where('user_id', '=', userId).where('role', '=', role).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

// One lock for every change that could leave no active admin: two admins demoting each
// other at once must not both succeed.
const ADMIN_GUARD_LOCK = 7_261_001;

/** Takes the admin guard lock until the end of `trx`; read the admins after it. */
export async function lockAdminGuard(trx: DB): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`.execute(trx);
}

/** The ids of the active users holding `admin` (a handful), at most `limit` of them. */
export async function activeAdminIds(db: DB, options: { limit?: number } = {}): Promise<string[]> {
  const rows = await db
    .selectFrom('user_roles')
    .innerJoin('users', 'users.id', 'user_roles.user_id')
    .select('users.id')
    .where('user_roles.role', '=', ADMIN_ROLE)
    .where('users.status', '=', 'active')
    .$if(options.limit !== undefined, (query) => query.limit(options.limit ?? 0))
    .execute();
  return rows.map((row) => row.id);
}

/**
 * The union of the named roles' permissions (unknown names contribute nothing).
 * `lock` (inside a transaction) holds the roles' rows against changes until it ends.
 */
export async function permissionsOfRoles(db: DB, roles: readonly string[], options: { lock?: boolean } = {}): Promise<string[]> {
  if (roles.length === 0) return [];
  if (options.lock === true) await db.selectFrom('roles').select('name').where('name', 'in', roles).forShare().execute();
  const rows = await db.selectFrom('role_permissions').select('permission').distinct().where('role', 'in', roles).execute();
  return rows.map((row) => row.permission);
}
