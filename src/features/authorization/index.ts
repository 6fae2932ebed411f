// The authorization module as other features see it: everything they may use, and nothing else.
export type { Authorizer } from './authorizer.ts';
export { ADMIN_ROLE, PERMISSION_DESCRIPTIONS, PERMISSIONS, ROLE_NAME_PATTERN, isBuiltInRole, missingPermissions } from './permissions.ts';
export type { Permission } from './permissions.ts';
export { activeAdminIds, assignRole, deleteRole, findRole, insertRole, listRoleDefinitions, lockAdminGuard, permissionsOfRoles, permissionsOfUser, removeRole, replaceRole } from './roles-repo.ts';
export type { StoredRole } from './roles-repo.ts';
