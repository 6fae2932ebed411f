// The one module that knows how this page holds its session: cookie mode
// (cookie-session.ts) over the page's network and its CSRF cookie. Every page goes through
// `session` and `useSession`; nothing else touches a credential.
import { useSyncExternalStore } from 'react';
import { createCookieSession, type SessionState } from './cookie-session.ts';

export type { Session, SessionState } from './cookie-session.ts';

/** The CSRF token the server set for this session (the one cookie a script may read). */
function csrfToken(): string | null {
  // eslint-disable-next-line no-restricted-properties -- the CSRF cookie is readable by design (signed double submit); the session cookies are httpOnly
  const pair = document.cookie.split('; ').find((entry) => entry.startsWith('__Host-gh_csrf='));
  return pair === undefined ? null : pair.slice('__Host-gh_csrf='.length);
}

export const session = createCookieSession((input, init) => fetch(input, init), csrfToken);

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.current);
}
