// The one module that knows how the browser holds a session. Every page goes through the
// `Session` interface; nothing else touches a credential.
//
// Cookie mode: the server sets httpOnly `__Host-` cookies at login, so no token ever
// reaches this page (not in memory, storage or a readable cookie, where an injected script
// could take it); authorize() adds the CSRF header, and after a reload the state is learnt
// from the server.
import { useSyncExternalStore } from 'react';
import type { SignedIn } from './api/types.ts';

export type SessionState =
  | { readonly status: 'anonymous' }
  | { readonly status: 'signed_in'; readonly sessionId: string };

// Function properties, not methods: React and openapi-fetch call them detached from the object.
export interface Session {
  /** The current state; the same object until it changes (React compares it by identity). */
  readonly current: () => SessionState;
  readonly subscribe: (listener: () => void) => () => void;
  /** Starts the session from a completed login's answer. */
  readonly begin: (answer: SignedIn) => void;
  /** Adds what authenticates an API request: the bearer token now, the CSRF header in cookie mode. */
  readonly authorize: (request: Request) => Request;
  /** Forgets the session here (after logout, or when the server no longer knows it). */
  readonly end: () => void;
}

const ANONYMOUS: SessionState = { status: 'anonymous' };

/** The CSRF token the server set for this session (the one cookie a script may read). */
function csrfToken(): string | null {
  // eslint-disable-next-line no-restricted-properties -- the CSRF cookie is readable by design (signed double submit); the session cookies are httpOnly
  const pair = document.cookie.split('; ').find((entry) => entry.startsWith('__Host-gh_csrf='));
  return pair === undefined ? null : pair.slice('__Host-gh_csrf='.length);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Cookie mode (docs/browser-sessions.md): the server keeps the session in httpOnly
 * `__Host-` cookies; this module holds no credential at all. Every request asks for cookie
 * mode (the server reads the header only where a login completes or refreshes) and every
 * state-changing one carries the CSRF token. After a reload the state is learnt from the
 * server (`restore`).
 */
export function createCookieSession(): Session & { readonly restore: () => Promise<void> } {
  let state: SessionState = ANONYMOUS;
  const listeners = new Set<() => void>();
  const change = (next: SessionState): void => {
    state = next;
    for (const listener of listeners) listener();
  };
  const headers = (method: string): Record<string, string> => {
    const token = UNSAFE.has(method) ? csrfToken() : null;
    return { 'gatehouse-session': 'cookie', ...(token === null ? {} : { 'x-csrf-token': token }) };
  };
  return {
    current: () => state,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    begin: (answer) => {
      change({ status: 'signed_in', sessionId: answer.session_id });
    },
    authorize: (request) => {
      for (const [name, value] of Object.entries(headers(request.method))) request.headers.set(name, value);
      return request;
    },
    end: () => {
      change(ANONYMOUS);
    },
    async restore() {
      const me = await fetch('/v1/me', { headers: headers('GET') });
      if (me.ok) {
        change({ status: 'signed_in', sessionId: 'current' });
        return;
      }
      // The access cookie lapsed: the refresh cookie may still hold the session.
      const refreshed = await fetch('/v1/auth/refresh', { method: 'POST', headers: { ...headers('POST'), 'content-type': 'application/json' }, body: '{}' });
      if (refreshed.ok) {
        const answer = (await refreshed.json()) as { session_id?: unknown };
        change({ status: 'signed_in', sessionId: typeof answer.session_id === 'string' ? answer.session_id : 'current' });
      }
    },
  };
}

export const session = createCookieSession();

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.current);
}
