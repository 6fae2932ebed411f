// How the browser holds a session (cookie mode), without the DOM: the page gives it the
// network and the CSRF cookie's reader (session.ts), and test/web/session.test.ts a fake
// server. The server sets httpOnly `__Host-` cookies at login, so no token ever reaches the
// page (not in memory, storage or a readable cookie, where an injected script could take
// it); authorize() adds the CSRF header, and after a reload the state is learnt from the
// server.
import type { SignedIn } from './api/types.ts';

export type SessionState =
  | { readonly status: 'restoring' }
  | { readonly status: 'anonymous' }
  | { readonly status: 'signed_in'; readonly sessionId: string };

// Function properties, not methods: React and openapi-fetch call them detached from the object.
export interface Session {
  /** The current state; the same object until it changes (React compares it by identity). */
  readonly current: () => SessionState;
  readonly subscribe: (listener: () => void) => () => void;
  /** Starts the session from a completed login's answer. */
  readonly begin: (answer: SignedIn) => void;
  /** Adds what authenticates an API request: in cookie mode, the mode's header and the CSRF token. */
  readonly authorize: (request: Request) => Request;
  /** Forgets the session here (after logout, or when the server no longer knows it). */
  readonly end: () => void;
}

export interface CookieSession extends Session {
  /** Learns from the server whether the browser's cookies hold a session (after a reload). */
  readonly restore: () => Promise<void>;
  /**
   * Sends an API request; when the access cookie has lapsed (401) it renews the session
   * with the refresh cookie once and sends the request again. The client's `fetch`.
   */
  readonly send: (request: Request) => Promise<Response>;
}

const ANONYMOUS: SessionState = { status: 'anonymous' };
const RESTORING: SessionState = { status: 'restoring' };

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Requests that never renew the session on a 401: logins, refresh and logout answer for themselves. */
function mayRenew(request: Request): boolean {
  const { pathname } = new URL(request.url);
  return !pathname.startsWith('/v1/auth/') || pathname.startsWith('/v1/auth/reauthenticate');
}

/** Whether a 401 says the credential is missing or expired (a wrong password, say, is not renewed and retried). */
async function credentialLapsed(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    return body.code === 'unauthorized' || body.code === 'invalid_token';
  } catch {
    return false;
  }
}

/**
 * Cookie mode (docs/browser-sessions.md): the server keeps the session in httpOnly
 * `__Host-` cookies; this module holds no credential at all. Every request asks for cookie
 * mode (the server reads the header only where a login completes or refreshes) and every
 * state-changing one carries the CSRF token. After a reload the state is learnt from the
 * server (`restore`), and until then it is `restoring`, so no page claims the user is
 * logged out while it is being asked.
 */
export function createCookieSession(transport: typeof fetch, csrfToken: () => string | null): CookieSession {
  let state: SessionState = RESTORING;
  let renewing: Promise<boolean> | null = null;
  const listeners = new Set<() => void>();
  const change = (next: SessionState): void => {
    state = next;
    for (const listener of listeners) listener();
  };
  const headers = (method: string): Record<string, string> => {
    const token = UNSAFE.has(method) ? csrfToken() : null;
    return { 'gatehouse-session': 'cookie', ...(token === null ? {} : { 'x-csrf-token': token }) };
  };
  const authorize = (request: Request): Request => {
    for (const [name, value] of Object.entries(headers(request.method))) request.headers.set(name, value);
    return request;
  };
  /** One refresh at a time, however many requests found the access cookie gone. */
  const renew = (): Promise<boolean> => {
    renewing ??= (async () => {
      try {
        const refreshed = await transport('/v1/auth/refresh', { method: 'POST', headers: { ...headers('POST'), 'content-type': 'application/json' }, body: '{}' });
        if (!refreshed.ok) return false;
        const answer = (await refreshed.json()) as { session_id?: unknown };
        change({ status: 'signed_in', sessionId: typeof answer.session_id === 'string' ? answer.session_id : 'current' });
        return true;
      } catch {
        return false;
      } finally {
        renewing = null;
      }
    })();
    return renewing;
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
    authorize,
    end: () => {
      change(ANONYMOUS);
    },
    async restore() {
      try {
        const me = await transport('/v1/me', { headers: headers('GET') });
        if (me.ok) {
          change({ status: 'signed_in', sessionId: 'current' });
          return;
        }
        // The access cookie lapsed: the refresh cookie may still hold the session.
        if (!(await renew())) change(ANONYMOUS);
      } catch {
        change(ANONYMOUS);
      }
    },
    async send(request) {
      // The body can be read once: keep a copy for the one retry.
      const retry = mayRenew(request) ? request.clone() : null;
      const response = await transport(request);
      if (retry === null || state.status === 'anonymous' || !(await credentialLapsed(response))) return response;
      if (!(await renew())) {
        change(ANONYMOUS);
        return response;
      }
      // The refresh may have set a new CSRF cookie.
      return transport(authorize(retry));
    },
  };
}
