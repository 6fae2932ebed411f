// The small pages: the start page and "not found".
import type { ReactNode } from 'react';
import { Card } from '../components/layout.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';

export function HomePage(): ReactNode {
  const state = useSession();
  return (
    <Card title="Welcome to Gatehouse">
      {state.status === 'restoring' ? (
        <p role="status">Loading…</p>
      ) : state.status === 'signed_in' ? (
        <p>
          You are logged in. <Link to="/account">Go to your account</Link>
        </p>
      ) : (
        <>
          <p>Log in to manage your account, or create one.</p>
          <p className="actions">
            <Link to="/login" className="button-link">
              Log in
            </Link>
            <Link to="/register" className="button-link button-link-secondary">
              Create account
            </Link>
          </p>
        </>
      )}
    </Card>
  );
}

export function NotFoundPage(): ReactNode {
  return (
    <Card title="Page not found">
      <p>There is no page at this address.</p>
      <p>
        <Link to="/">Back to the start page</Link>
      </p>
    </Card>
  );
}
