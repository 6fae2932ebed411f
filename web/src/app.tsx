// The app: the page for the current path, inside the layout and an error boundary that
// resets when the path changes.
import { lazy, Suspense, type ReactNode } from 'react';
import { ErrorBoundary } from './components/error-boundary.tsx';
import { Card, Layout } from './components/layout.tsx';
import { CancelDeletionPage, GoodbyePage } from './pages/account-deletion.tsx';
import { ForgotPasswordPage } from './pages/forgot-password.tsx';
import { LoginPage } from './pages/login.tsx';
import { RegisterPage } from './pages/register.tsx';
import { ResetPasswordPage } from './pages/reset-password.tsx';
import { HomePage, NotFoundPage } from './pages/simple.tsx';
import { VerifyEmailPage } from './pages/verify-email.tsx';
import { usePath } from './router.tsx';

// The account area is loaded when first opened: the pages before login stay small.
const AccountArea = lazy(() => import('./pages/account/area.tsx'));

const PAGES: ReadonlyMap<string, () => ReactNode> = new Map([
  ['/', () => <HomePage />],
  ['/login', () => <LoginPage />],
  ['/register', () => <RegisterPage />],
  ['/verify-email', () => <VerifyEmailPage />],
  ['/forgot-password', () => <ForgotPasswordPage />],
  ['/reset-password', () => <ResetPasswordPage />],
  ['/cancel-deletion', () => <CancelDeletionPage />],
  ['/goodbye', () => <GoodbyePage />],
]);

// The admin console is a chunk of its own: a first visit (and every user without admin
// permissions) never downloads it.
const AdminConsole = lazy(() => import('./pages/admin/console.tsx'));

function AdminPage(props: { readonly path: string }): ReactNode {
  return (
    <Suspense
      fallback={
        <Card title="Administration" busy>
          <p role="status">Loading…</p>
        </Card>
      }
    >
      <AdminConsole path={props.path} />
    </Suspense>
  );
}

/** The page for a path. */
export function pageFor(path: string): ReactNode {
  let normalized = path;
  while (normalized.length > 1 && normalized.endsWith('/')) normalized = normalized.slice(0, -1);
  const page = PAGES.get(normalized);
  if (page !== undefined) return page();
  if (normalized === '/account' || normalized.startsWith('/account/')) {
    return (
      <Suspense fallback={<p role="status">Loading…</p>}>
        <AccountArea path={normalized} />
      </Suspense>
    );
  }
  if (normalized === '/admin' || normalized.startsWith('/admin/')) return <AdminPage path={normalized} />;
  return <NotFoundPage />;
}

export function App(): ReactNode {
  const path = usePath();
  return (
    <Layout>
      <ErrorBoundary key={path} what="this page">
        {pageFor(path)}
      </ErrorBoundary>
    </Layout>
  );
}
