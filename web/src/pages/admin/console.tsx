// The admin console: /admin and the pages under it, loaded as a chunk of its own (app.tsx
// imports it lazily) so a first visit downloads none of it. Each page shows only to a user
// whose permissions allow it; anyone else gets a clear "no permission" state, and the
// server refuses their requests with 403 in any case.
import type { ReactNode } from 'react';
import { Card } from '../../components/layout.tsx';
import { StepUpProvider } from '../../components/step-up.tsx';
import { holds, useFreshAccess, type Access } from '../../permissions.ts';
import { Link, matchPath } from '../../router.tsx';
import { RequireSession } from '../../components/require-session.tsx';
import { NotFoundPage } from '../simple.tsx';
import { AuditPage } from './audit.tsx';
import { AdminNav, LoadFailed, NoPermission } from './common.tsx';
import { RolesPage } from './roles.tsx';
import { ADMIN_SECTIONS, sectionsFor } from './sections.ts';
import { UserDetailPage } from './user-detail.tsx';
import { UsersPage } from './users.tsx';
import './admin.css';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function AdminHome(props: { readonly access: Access }): ReactNode {
  const sections = sectionsFor(props.access);
  if (sections.length === 0) return <NoPermission title="Administration" what="use the administration console" />;
  return (
    <Card title="Administration">
      <ul className="admin-list">
        {sections.map((section) => (
          <li key={section.path} className="admin-item">
            <p className="admin-item-title">
              <Link to={section.path}>{section.title}</Link>
            </p>
            <p className="muted">{section.summary}</p>
          </li>
        ))}
      </ul>
    </Card>
  );
}

const SECTION_PAGES: Readonly<Record<string, () => ReactNode>> = {
  '/admin/users': () => <UsersPage />,
  '/admin/roles': () => <RolesPage />,
  '/admin/audit': () => <AuditPage />,
};

/** The page for `path`, or the no-permission state when the user lacks its section's permission. */
function pageFor(path: string, access: Access): ReactNode {
  if (path === '/admin') return <AdminHome access={access} />;
  const id = matchPath('/admin/users/:id', path)?.['id'];
  const owner = ADMIN_SECTIONS.find((section) => section.path === (id === undefined ? path : '/admin/users'));
  const page = owner === undefined ? undefined : SECTION_PAGES[owner.path];
  if (owner === undefined || page === undefined || (id !== undefined && !UUID.test(id))) return <NotFoundPage />;
  if (!holds(access, owner.permission)) return <NoPermission title={owner.title} what={`see the ${owner.title.toLowerCase()}`} />;
  return id === undefined ? page() : <UserDetailPage key={id} id={id} />;
}

export default function AdminConsole(props: { readonly path: string }): ReactNode {
  return (
    <RequireSession title="Administration">
      <SignedInConsole path={props.path} />
    </RequireSession>
  );
}

function SignedInConsole(props: { readonly path: string }): ReactNode {
  const access = useFreshAccess();
  if (access.status === 'failed') {
    return (
      <Card title="Administration">
        <LoadFailed outcome={{ ok: false, problem: access.problem }} />
      </Card>
    );
  }
  if (access.status !== 'known') {
    return (
      <Card title="Administration" busy>
        <p role="status">Loading…</p>
      </Card>
    );
  }
  return (
    <div className="admin-console">
      <StepUpProvider>
        <AdminNav access={access} path={props.path} />
        {pageFor(props.path, access)}
      </StepUpProvider>
    </div>
  );
}
