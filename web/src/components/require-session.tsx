// Pages for signed-in users only: while the session is being learnt from the server after a
// reload they say so (never "you are not logged in" for a moment), and without a session
// they offer the login page.
import type { ReactNode } from 'react';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';
import { Card } from './layout.tsx';

export function RequireSession(props: { readonly title: string; readonly children: ReactNode }): ReactNode {
  const state = useSession();
  if (state.status === 'signed_in') return props.children;
  return (
    <Card title={props.title} busy={state.status === 'restoring'}>
      {state.status === 'restoring' ? (
        <p role="status">Loading…</p>
      ) : (
        <>
          <p>You are not logged in.</p>
          <p>
            <Link to="/login" className="button-link">
              Log in
            </Link>
          </p>
        </>
      )}
    </Card>
  );
}
