// Request and response shapes of the admin API. Every object is closed
// (additionalProperties: false), so a field the API does not take is a 400.
import { Type } from 'typebox';
import { Email, Name, Password } from '../auth/index.ts';
import { PERMISSIONS, ROLE_NAME_PATTERN } from '../authorization/index.ts';

const strict = { additionalProperties: false } as const;

export const RoleName = Type.String({ pattern: ROLE_NAME_PATTERN, minLength: 1, maxLength: 63 });
const PermissionName = Type.Union(PERMISSIONS.map((permission) => Type.Literal(permission)));
const Status = Type.Union([Type.Literal('active'), Type.Literal('disabled')]);

export const AdminUser = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.Union([Type.String({ maxLength: 254 }), Type.Null()]),
    name: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
    email_verified: Type.Boolean(),
    status: Status,
    roles: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
    /** The end of a lockout in force on the account (password or second factor), or null; POST …/unlock lifts it. */
    locked_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  strict,
);

export const UserPage = Type.Object(
  { users: Type.Array(AdminUser, { maxItems: 100 }), next_cursor: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]) },
  strict,
);

export const UserListQuery = Type.Object(
  {
    /** An exact email address, matched through the blind index (no partial search over encrypted data). */
    query: Type.Optional(Email),
    status: Type.Optional(Status),
    cursor: Type.Optional(Type.String({ format: 'uuid' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  },
  strict,
);

export const CreateUserBody = Type.Object(
  {
    email: Email,
    /** Deprecated: without it the user is invited to set their own password (the recommended way). */
    password: Type.Optional(Password),
    name: Type.Optional(Name),
    roles: Type.Optional(Type.Array(RoleName, { maxItems: 16, uniqueItems: true })),
    email_verified: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const PatchUserBody = Type.Object({ status: Type.Optional(Status), name: Type.Optional(Type.Union([Name, Type.Null()])) }, { ...strict, minProperties: 1 });

export const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, strict);
export const UserRoleParams = Type.Object({ id: Type.String({ format: 'uuid' }), role: RoleName }, strict);
export const RevokedCount = Type.Object({ revoked: Type.Integer({ minimum: 0 }) }, strict);

export const Role = Type.Object(
  {
    name: Type.String({ maxLength: 64 }),
    description: Type.String({ maxLength: 500 }),
    built_in: Type.Boolean(),
    permissions: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  strict,
);

/** The permission catalog: what a custom role may grant. */
export const PermissionCatalog = Type.Object(
  {
    permissions: Type.Array(Type.Object({ name: Type.String({ maxLength: 64 }), description: Type.String({ maxLength: 500 }) }, strict), { maxItems: 64 }),
  },
  strict,
);

const Permissions = Type.Array(PermissionName, { maxItems: PERMISSIONS.length, uniqueItems: true });
const Description = Type.String({ maxLength: 500 });

export const CreateRoleBody = Type.Object({ name: RoleName, description: Type.Optional(Description), permissions: Permissions }, strict);
export const ReplaceRoleBody = Type.Object({ description: Type.Optional(Description), permissions: Permissions }, strict);
export const RoleParams = Type.Object({ name: RoleName }, strict);
