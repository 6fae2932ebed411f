// The admin API's shapes, from the generated types (../../api/openapi.ts), so a change of a
// route's schema shows here as a type error.
import type { paths } from '../../api/openapi.ts';
import type { JSONBody } from '../../api/types.ts';

export type AdminUser = JSONBody<paths['/v1/admin/users/{id}']['get']['responses'][200]>;
export type UserPage = JSONBody<paths['/v1/admin/users']['get']['responses'][200]>;
export type Role = JSONBody<paths['/v1/admin/roles/{name}']['get']['responses'][200]>;
export type PermissionCatalog = JSONBody<paths['/v1/admin/permissions']['get']['responses'][200]>;
export type AuditPage = JSONBody<paths['/v1/admin/audit']['get']['responses'][200]>;
export type AuditEvent = AuditPage['events'][number];
export type AuditFilters = NonNullable<paths['/v1/admin/audit']['get']['parameters']['query']>;
export type ChainVerification = JSONBody<paths['/v1/admin/audit/verify']['get']['responses'][200]>;
export type RoleBody = NonNullable<paths['/v1/admin/roles']['post']['requestBody']>['content']['application/json'];
/** A permission of the catalog, as a role's body names it. */
export type PermissionName = RoleBody['permissions'][number];
