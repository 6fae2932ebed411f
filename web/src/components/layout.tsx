// The frame of every page: the header with the app's name and the session's links, the
// page's heading (which also names the browser tab and takes focus after a navigation,
// so a screen reader announces the new page), and the main column.
import { useEffect, useRef, type ReactNode } from 'react';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';

export function Layout(props: { readonly children: ReactNode }): ReactNode {
  const state = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Gatehouse
        </Link>
        <nav aria-label="Account">
          {state.status === 'restoring' ? null : state.status === 'signed_in' ? (
            <Link to="/account">Your account</Link>
          ) : (
            <>
              <Link to="/login">Log in</Link>
              <Link to="/register">Create account</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" className="page">
        {props.children}
      </main>
    </>
  );
}

export function PageHeading(props: { readonly children: string }): ReactNode {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.children} · Gatehouse`;
    heading.current?.focus();
  }, [props.children]);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {props.children}
    </h1>
  );
}

/** A page's panel: its heading and content. */
export function Card(props: { readonly title: string; readonly children: ReactNode; readonly busy?: boolean }): ReactNode {
  return (
    <section className="card" aria-busy={props.busy}>
      <PageHeading>{props.title}</PageHeading>
      {props.children}
    </section>
  );
}
