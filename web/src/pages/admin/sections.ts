// The admin console's sections and the permission each needs. Small on purpose: the
// layout (in the first-load bundle) reads it to decide whether to show the console's
// link, while the console itself is a separate chunk loaded on demand.
import { holds, type Access } from '../../permissions.ts';

export interface AdminSection {
  readonly path: string;
  readonly title: string;
  readonly permission: string;
  readonly summary: string;
}

export const ADMIN_SECTIONS: readonly AdminSection[] = [
  { path: '/admin/users', title: 'Users', permission: 'users:read', summary: 'Find accounts, see their status and roles, and act on them.' },
  { path: '/admin/roles', title: 'Roles', permission: 'roles:read', summary: 'The built-in roles, and custom roles made from the permission catalog.' },
  { path: '/admin/audit', title: 'Audit trail', permission: 'audit:read', summary: 'Search the record of what happened, verify its chain, export it.' },
];

/** The sections the user may open (the server refuses the others with 403 anyway). */
export function sectionsFor(access: Access): AdminSection[] {
  return ADMIN_SECTIONS.filter((section) => holds(access, section.permission));
}
