// The account area (/account and /account/…), for every signed-in user: a sub-navigation
// and the page for the path. Loaded on demand (React.lazy in app.tsx), so the pages a
// visitor sees first stay small. Step-up actions on any of its pages share one "Confirm it
// is you" dialog.
import type { ReactNode } from 'react';
import { RequireSession } from '../../components/require-session.tsx';
import { StepUpProvider } from '../../components/step-up.tsx';
import { Link } from '../../router.tsx';
import { NotFoundPage } from '../simple.tsx';
import { DataPage } from './data.tsx';
import { EventsPage } from './events.tsx';
import { FilesPage } from './files.tsx';
import { OverviewPage } from './overview.tsx';
import { PasswordPage } from './password.tsx';
import { SessionsPage } from './sessions.tsx';
import { TwoStepPage } from './two-step.tsx';

interface Section {
  readonly path: string;
  readonly label: string;
  /** The page's h1, shown also while the session is restored or when signed out. */
  readonly title: string;
  readonly page: () => ReactNode;
}

export const ACCOUNT_SECTIONS: readonly Section[] = [
  { path: '/account', label: 'Overview', title: 'Your account', page: () => <OverviewPage /> },
  { path: '/account/password', label: 'Password', title: 'Change your password', page: () => <PasswordPage /> },
  { path: '/account/sessions', label: 'Sessions', title: 'Your sessions', page: () => <SessionsPage /> },
  { path: '/account/events', label: 'Security events', title: 'Security events', page: () => <EventsPage /> },
  { path: '/account/two-step', label: 'Two-step sign-in', title: 'Two-step sign-in', page: () => <TwoStepPage /> },
  { path: '/account/files', label: 'Your files', title: 'Your files', page: () => <FilesPage /> },
  { path: '/account/data', label: 'Your data', title: 'Your data', page: () => <DataPage /> },
];

function AccountNav(props: { readonly path: string }): ReactNode {
  return (
    <nav className="sub-nav" aria-label="Your account">
      <ul>
        {ACCOUNT_SECTIONS.map((section) => (
          <li key={section.path}>
            <Link to={section.path} current={section.path === props.path}>
              {section.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** The page for `path` (already without a trailing slash). */
export default function AccountArea(props: { readonly path: string }): ReactNode {
  const section = ACCOUNT_SECTIONS.find((candidate) => candidate.path === props.path);
  return (
    <RequireSession title={section?.title ?? 'Your account'}>
      <StepUpProvider>
        <AccountNav path={props.path} />
        {section === undefined ? <NotFoundPage /> : section.page()}
      </StepUpProvider>
    </RequireSession>
  );
}
