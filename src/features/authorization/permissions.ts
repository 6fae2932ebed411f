// The permission catalog and the built-in roles. A permission is `resource:action`;
// routes name one (route-policy.ts refuses a name outside this catalog at start-up), and
// roles are sets of them. Deny by default: a user holds exactly the union of their
// roles' permissions, read from the database at request time.

export const PERMISSIONS = [
  'users:read',
  'users:write',
  'users:delete',
  'users:lock',
  'sessions:revoke',
  'roles:read',
  'roles:write',
  'roles:assign',
  'audit:read',
  'incident:respond',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** What each permission lets its holder do, for people choosing permissions for a role (GET /v1/admin/permissions). */
export const PERMISSION_DESCRIPTIONS: Readonly<Record<Permission, string>> = {
  'users:read': 'See users: their email, name, status and roles',
  'users:write': 'Create users, rename, disable and enable them, send password resets, remove second factors',
  'users:delete': 'Delete users and their data',
  'users:lock': 'Unlock locked-out accounts',
  'sessions:revoke': 'End users\' sessions',
  'roles:read': 'See roles and the permission catalog',
  'roles:write': 'Create, change and delete custom roles',
  'roles:assign': 'Assign roles to users and remove them',
  'audit:read': 'Search, verify and export the audit trail',
  'incident:respond': 'Sign out every user, or every holder of a role, at once (incident containment)',
};

const KNOWN: ReadonlySet<string> = new Set(PERMISSIONS);

export function isPermission(value: string): value is Permission {
  return KNOWN.has(value);
}

export const ADMIN_ROLE = 'admin';

export interface RoleDefinition {
  readonly name: string;
  readonly description: string;
  readonly permissions: readonly Permission[];
}

/** Re-asserted at every start (roles-repo.ts ensureBuiltInRoles); never changed through the API. */
export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  { name: 'user', description: 'Their own account only', permissions: [] },
  { name: 'support', description: 'Read users, unlock accounts, revoke sessions', permissions: ['users:read', 'users:lock', 'sessions:revoke'] },
  { name: 'auditor', description: 'Read the audit trail', permissions: ['audit:read'] },
  // Everything, including permissions added to the catalog later.
  { name: ADMIN_ROLE, description: 'Everything', permissions: [...PERMISSIONS] },
];

const BUILT_IN_NAMES: ReadonlySet<string> = new Set(BUILT_IN_ROLES.map((role) => role.name));

export function isBuiltInRole(name: string): boolean {
  return BUILT_IN_NAMES.has(name);
}

/** Lower-case letters, digits, `-` and `_`, starting with a letter. */
export const ROLE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,62}$';

/** The permissions in `wanted` that `held` lacks (empty: `held` covers `wanted`). */
export function missingPermissions(held: ReadonlySet<string>, wanted: Iterable<string>): string[] {
  return [...wanted].filter((permission) => !held.has(permission));
}
