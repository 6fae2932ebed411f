// The account area (/account and /account/…), for every signed-in user: a sub-navigation
// and the page for the path. Loaded on demand (React.lazy in app.tsx), so the pages a
// visitor sees first stay small. Step-up actions on any of its pages share one "Confirm it
// is you" dialog.
import type { ReactNode } from 'react';
import { Card } from '../../components/layout.tsx';
import { StepUpProvider } from '../../components/step-up.tsx';
import { Link } from '../../router.tsx';
import { useSession } from '../../session.ts';
import { NotFoundPage } from '../simple.tsx';
import { EventsPage } from './events.tsx';
import { OverviewPage } from './overview.tsx';
import { PasswordPage } from './password.tsx';
import { SessionsPage } from './sessions.tsx';
import { TwoStepPage } from './two-step.tsx';

interface Section {
  readonly path: string;
  readonly label: string;
  readonly page: () => ReactNode;
}

export const ACCOUNT_SECTIONS: readonly Section[] = [
  { path: '/account', label: 'Overview', page: () => <OverviewPage /> },
  { path: '/account/password', label: 'Password', page: () => <PasswordPage /> },
  { path: '/account/sessions', label: 'Sessions', page: () => <SessionsPage /> },
  { path: '/account/events', label: 'Security events', page: () => <EventsPage /> },
  { path: '/account/two-step', label: 'Two-step sign-in', page: () => <TwoStepPage /> },
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

function SignedOut(): ReactNode {
  return (
    <Card title="Your account">
      <p>You are not logged in.</p>
      <p>
        <Link to="/login" className="button-link">
          Log in
        </Link>
      </p>
    </Card>
  );
}

/** The page for `path` (already without a trailing slash). */
export default function AccountArea(props: { readonly path: string }): ReactNode {
  const state = useSession();
  if (state.status !== 'signed_in') return <SignedOut />;
  const section = ACCOUNT_SECTIONS.find((candidate) => candidate.path === props.path);
  return (
    <StepUpProvider>
      <AccountNav path={props.path} />
      {section === undefined ? <NotFoundPage /> : section.page()}
    </StepUpProvider>
  );
}
