// The built-in roles are fixed by the code: whatever was done to their rows in the
// database (a permission slipped into `support`, one taken from `admin`), the next
// start puts them back exactly as permissions.ts defines them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { BUILT_IN_ROLES, PERMISSIONS } from './permissions.ts';
import { ensureBuiltInRoles, findRole, permissionsOfRole } from './roles-repo.ts';

for (const engine of testEngines()) {
  describe(`built-in roles on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('a start restores built-in roles changed in the database: extra permissions go, missing ones return', async () => {
      const db = database().db;
      await db.insertInto('role_permissions').values({ role: 'support', permission: 'roles:assign' }).execute();
      await db.deleteFrom('role_permissions').where('role', '=', 'admin').where('permission', '=', 'audit:read').execute();
      await db.updateTable('roles').set({ built_in: false, description: 'tampered' }).where('name', '=', 'auditor').execute();

      await ensureBuiltInRoles(db, new Date());

      for (const role of BUILT_IN_ROLES) {
        assert.deepEqual(await permissionsOfRole(db, role.name), [...role.permissions].sort(), role.name);
        const stored = await findRole(db, role.name);
        assert.equal(stored?.builtIn, true, role.name);
        assert.equal(stored.description, role.description, role.name);
      }
      assert.deepEqual(await permissionsOfRole(db, 'admin'), [...PERMISSIONS].sort());
    });

    it('running twice at once (two instances starting) succeeds and leaves one row per permission', async () => {
      const db = database().db;
      await db.deleteFrom('role_permissions').where('role', '=', 'support').execute();
      await Promise.all([ensureBuiltInRoles(db, new Date()), ensureBuiltInRoles(db, new Date())]);
      assert.deepEqual(await permissionsOfRole(db, 'support'), ['sessions:revoke', 'users:lock', 'users:read']);
    });
  });
}
