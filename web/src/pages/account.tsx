// The account overview: who is signed in, and logging out. The other account pages
// (password, sessions, security events, second factors) come with the cookie sessions.
import { useEffect, useState, type ReactNode } from 'react';
import { api } from '../api/client.ts';
import { describeProblem } from '../api/messages.ts';
import { settle, type Outcome } from '../api/problem.ts';
import type { Profile } from '../api/types.ts';
import { useAction } from '../components/form.tsx';
import { Card } from '../components/layout.tsx';
import { RequireSession } from '../components/require-session.tsx';
import { navigate } from '../router.tsx';
import { session } from '../session.ts';

function ProfileCard(): ReactNode {
  const [outcome, setOutcome] = useState<Outcome<Profile> | null>(null);
  useEffect(() => {
    let current = true;
    void settle(api.GET('/v1/me')).then((answer) => {
      if (current) setOutcome(answer);
    });
    return () => {
      current = false;
    };
  }, []);
  if (outcome === null) return <p role="status">Loading your profile…</p>;
  if (!outcome.ok) {
    return (
      <div className="alert alert-error" role="alert">
        <p>{describeProblem(outcome.problem)}</p>
      </div>
    );
  }
  const profile = outcome.data;
  return (
    <dl className="details">
      <dt>Email</dt>
      <dd>{profile.email}</dd>
      <dt>Name</dt>
      <dd>{profile.name ?? 'Not set'}</dd>
      <dt>Roles</dt>
      <dd>{profile.roles.length === 0 ? 'None' : profile.roles.join(', ')}</dd>
    </dl>
  );
}

export function AccountPage(): ReactNode {
  return (
    <RequireSession title="Your account">
      <AccountOverview />
    </RequireSession>
  );
}

function AccountOverview(): ReactNode {
  const action = useAction();
  return (
    <Card title="Your account">
      <ProfileCard />
      <button
        type="button"
        className="button-secondary"
        disabled={action.busy}
        onClick={() => {
          void action.run(() => settle(api.POST('/v1/auth/logout'))).finally(() => {
            // Logged out here whatever the server said: a session it no longer knows is over anyway.
            session.end();
            navigate('/login');
          });
        }}
      >
        {action.busy ? 'Logging out…' : 'Log out'}
      </button>
    </Card>
  );
}
