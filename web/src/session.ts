// The one module that knows how the browser holds a session. Every page goes through the
// `Session` interface; nothing else touches a credential.
//
// Today (bearer mode) the tokens of a completed login live in this module's memory only:
// never in localStorage, sessionStorage or a readable cookie, where an injected script
// could take them; a reload signs the user out. Cookie mode (issue 11) replaces
// createMemorySession with one where the server sets httpOnly `__Host-` cookies: begin()
// then keeps no token, authorize() adds the CSRF header instead of a bearer token, and
// current() is learnt from the server. The pages do not change.
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

export function createMemorySession(): Session {
  let state: SessionState = ANONYMOUS;
  let accessToken: string | null = null;
  const listeners = new Set<() => void>();
  const change = (next: SessionState): void => {
    state = next;
    for (const listener of listeners) listener();
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
      // A cookie-mode answer carries no token: the server has set the httpOnly cookies.
      accessToken = answer.token_type === 'Bearer' ? answer.access_token : null;
      change({ status: 'signed_in', sessionId: answer.session_id });
    },
    authorize: (request) => {
      // Only ever to this origin's API: the client is built with a same-origin base URL.
      if (accessToken !== null) request.headers.set('authorization', `Bearer ${accessToken}`);
      return request;
    },
    end: () => {
      accessToken = null;
      change(ANONYMOUS);
    },
  };
}

export const session: Session = createMemorySession();

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.current);
}
