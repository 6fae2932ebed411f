// The browser session module (web/src/session.ts) in Node with a fake server: an expired
// access cookie is renewed once with the refresh cookie and the request sent again, with
// its body; many requests that find it expired share one refresh; a refused refresh ends
// the session; a wrong password (also a 401) is never retried, so it cannot count twice
// toward a lockout; the CSRF token read after the refresh goes with the retry.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createCookieSession } from '../../web/src/cookie-session.ts';

const ORIGIN = 'http://127.0.0.1:8080';

/** The CSRF cookie as the page would read it; a refresh replaces it. */
let csrf = 'before';
const readCsrf = (): string => csrf;

function problem(status: number, code: string): Response {
  return new Response(JSON.stringify({ code }), { status, headers: { 'content-type': 'application/problem+json' } });
}

interface Sent {
  readonly path: string;
  readonly method: string;
  readonly csrf: string | null;
  readonly body: string;
}

/** A server whose access cookie is expired until a refresh succeeds (when `refreshes` allows). */
function fakeServer(options: { readonly refreshOk: boolean; readonly routeProblem?: string }) {
  const sent: Sent[] = [];
  let fresh = false;
  const transport = async (input: Request | URL | string, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), ORIGIN), init);
    const path = new URL(request.url).pathname;
    sent.push({ path, method: request.method, csrf: request.headers.get('x-csrf-token'), body: await request.text() });
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (path === '/v1/auth/refresh') {
      if (!options.refreshOk) return problem(401, 'invalid_token');
      fresh = true;
      // The refresh sets a new CSRF cookie.
      csrf = 'after-refresh';
      return Response.json({ session_id: 'sid-2' });
    }
    if (options.routeProblem !== undefined) return problem(401, options.routeProblem);
    return fresh ? Response.json({ ok: true }) : problem(401, 'unauthorized');
  };
  return { sent, transport };
}

describe('the browser session (cookie mode)', () => {
  beforeEach(() => {
    csrf = 'before';
  });

  it('renews a lapsed access cookie once and sends the request again, body and fresh CSRF token included', async () => {
    const server = fakeServer({ refreshOk: true });
    const session = createCookieSession(server.transport, readCsrf);
    session.begin({ session_id: 'sid-1' } as never);
    const request = session.authorize(new Request(`${ORIGIN}/v1/me`, { method: 'PATCH', body: '{"name":"Ada"}' }));
    const response = await session.send(request);
    assert.equal(response.status, 200);
    assert.deepEqual(
      server.sent.map((entry) => [entry.method, entry.path, entry.csrf, entry.body]),
      [
        ['PATCH', '/v1/me', 'before', '{"name":"Ada"}'],
        ['POST', '/v1/auth/refresh', 'before', '{}'],
        ['PATCH', '/v1/me', 'after-refresh', '{"name":"Ada"}'],
      ],
    );
    assert.deepEqual(session.current(), { status: 'signed_in', sessionId: 'sid-2' });
  });

  it('shares one refresh among requests that found the cookie lapsed together', async () => {
    const server = fakeServer({ refreshOk: true });
    const session = createCookieSession(server.transport, readCsrf);
    session.begin({ session_id: 'sid-1' } as never);
    const answers = await Promise.all([1, 2, 3].map(() => session.send(session.authorize(new Request(`${ORIGIN}/v1/me/sessions`)))));
    assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200]);
    assert.equal(server.sent.filter((entry) => entry.path === '/v1/auth/refresh').length, 1);
  });

  it('ends the session when the refresh is refused, and answers the original 401', async () => {
    const server = fakeServer({ refreshOk: false });
    const session = createCookieSession(server.transport, readCsrf);
    session.begin({ session_id: 'sid-1' } as never);
    const response = await session.send(session.authorize(new Request(`${ORIGIN}/v1/me`)));
    assert.equal(response.status, 401);
    assert.deepEqual(session.current(), { status: 'anonymous' });
  });

  it('never retries a wrong password, nor a login or refresh of its own', async () => {
    const wrongPassword = fakeServer({ refreshOk: true, routeProblem: 'invalid_credentials' });
    const session = createCookieSession(wrongPassword.transport, readCsrf);
    session.begin({ session_id: 'sid-1' } as never);
    const response = await session.send(session.authorize(new Request(`${ORIGIN}/v1/auth/reauthenticate`, { method: 'POST', body: '{"password":"x"}' })));
    assert.equal(response.status, 401);
    assert.deepEqual(wrongPassword.sent.map((entry) => entry.path), ['/v1/auth/reauthenticate']);

    const login = fakeServer({ refreshOk: true });
    const other = createCookieSession(login.transport, readCsrf);
    other.begin({ session_id: 'sid-1' } as never);
    await other.send(other.authorize(new Request(`${ORIGIN}/v1/auth/logout`, { method: 'POST' })));
    assert.deepEqual(login.sent.map((entry) => entry.path), ['/v1/auth/logout']);
  });

  it('is restoring until the server answers, then signed in from the refresh cookie or anonymous', async () => {
    const renewable = createCookieSession(fakeServer({ refreshOk: true }).transport, readCsrf);
    assert.equal(renewable.current().status, 'restoring');
    await renewable.restore();
    assert.deepEqual(renewable.current(), { status: 'signed_in', sessionId: 'sid-2' });

    const gone = createCookieSession(fakeServer({ refreshOk: false }).transport, readCsrf);
    await gone.restore();
    assert.deepEqual(gone.current(), { status: 'anonymous' });
  });
});
