// Cookie sessions for browsers, attacked: cross-site requests riding the cookies (CSRF),
// a login forged from another site, a CSRF token of another session, a tampered or
// stolen cookie value, and cookie refresh under the same reuse detection as bearer
// refresh. Bearer clients must not notice any of it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { TestApp } from '../../../test/helpers/app.ts';
import { testEngines } from '../../../test/helpers/database.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { appPerSuiteWith, createUser } from '../../../test/security/authz.fixtures.ts';
import { totpCodeAt, totpStep } from '../mfa/totp.ts';

const ORIGIN = 'http://127.0.0.1:8080';
const COOKIE_MODE = { 'gatehouse-session': 'cookie', origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

interface Jar {
  readonly cookies: Map<string, string>;
  readonly setCookies: string[];
}

function jarOf(setCookie: string | string[] | undefined, previous: Jar | null = null): Jar {
  const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  const cookies = new Map(previous?.cookies ?? []);
  for (const line of lines) {
    const [pair = ''] = line.split(';');
    const equals = pair.indexOf('=');
    const name = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    if (/Max-Age=0(;|$)/.test(line)) cookies.delete(name);
    else cookies.set(name, value);
  }
  return { cookies, setCookies: lines };
}

const cookieHeader = (jar: Jar): string => [...jar.cookies].map(([name, value]) => `${name}=${value}`).join('; ');

for (const engine of testEngines()) {
  describe(`browser cookie sessions on ${engine.engine}`, () => {
    const suite = appPerSuiteWith(engine, { REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: '0' });
    let test: TestApp;
    before(() => {
      test = suite.test;
    });

    async function cookieLogin(label: string): Promise<{ jar: Jar; body: Record<string, unknown> }> {
      const account = await createUser(test, { label });
      const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: COOKIE_MODE, payload: { email: account.email, password: account.password } });
      assert.equal(response.statusCode, 200, response.body);
      return { jar: jarOf(response.headers['set-cookie']), body: response.json() };
    }

    const send = (method: 'GET' | 'PATCH' | 'POST' | 'DELETE', url: string, jar: Jar, headers: Record<string, string> = {}, payload?: Record<string, unknown>) =>
      test.app.inject({ method, url, headers: { cookie: cookieHeader(jar), ...headers }, ...(payload === undefined ? {} : { payload }) });

    const csrf = (jar: Jar): string => jar.cookies.get('__Host-gh_csrf') ?? assert.fail('no CSRF cookie');

    it('a cookie login sets __Host- cookies, HttpOnly but for the CSRF token, and answers no token', async () => {
      const { jar, body } = await cookieLogin('cookie-login');
      assert.deepEqual(Object.keys(body).sort(), ['expires_in', 'session_id', 'token_type']);
      assert.equal(body['token_type'], 'cookie');
      for (const name of ['__Host-gh_session', '__Host-gh_refresh', '__Host-gh_device']) {
        const line = jar.setCookies.find((candidate) => candidate.startsWith(`${name}=`));
        assert.ok(line !== undefined, name);
        for (const attribute of ['Path=/', 'Secure', 'SameSite=Strict', 'HttpOnly']) assert.ok(line.split('; ').includes(attribute), `${name}: ${attribute}`);
        assert.doesNotMatch(line, /Domain=/i);
      }
      const csrfLine = jar.setCookies.find((candidate) => candidate.startsWith('__Host-gh_csrf='));
      assert.ok(csrfLine !== undefined && !csrfLine.includes('HttpOnly'), 'the page reads the CSRF token');
      assert.doesNotMatch(jar.cookies.get('__Host-gh_session') ?? '', /^eyJ/, 'the session cookie is opaque, not a readable JWT');
    });

    it('same-origin reads and writes work with the cookie; a write needs the CSRF token of this session', async () => {
      const { jar } = await cookieLogin('cookie-use');
      assert.equal((await send('GET', '/v1/me', jar, { 'sec-fetch-site': 'same-origin' })).statusCode, 200);
      const write = await send('PATCH', '/v1/me', jar, { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf(jar) }, { name: 'Cookie' });
      assert.equal(write.statusCode, 200, write.body);
      const without = await send('PATCH', '/v1/me', jar, { origin: ORIGIN, 'sec-fetch-site': 'same-origin' }, { name: 'Forged' });
      assert.deepEqual([without.statusCode, without.json<Record<string, unknown>>()['code']], [403, 'csrf_rejected']);
      const other = await cookieLogin('cookie-other');
      const swapped = await send('PATCH', '/v1/me', { ...jar, cookies: new Map([...jar.cookies, ['__Host-gh_csrf', csrf(other.jar)]]) }, { origin: ORIGIN, 'x-csrf-token': csrf(other.jar) }, { name: 'Forged' });
      assert.deepEqual([swapped.statusCode, swapped.json<Record<string, unknown>>()['code']], [403, 'csrf_rejected'], "another session's CSRF token, in cookie and header alike");
    });

    it('a request from another site riding the cookies is refused, read or write, token or not', async () => {
      const { jar } = await cookieLogin('cookie-csrf');
      const token = csrf(jar);
      const cases: [string, Record<string, string>][] = [
        ['GET', { 'sec-fetch-site': 'cross-site' }],
        ['PATCH', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'x-csrf-token': token }],
        ['PATCH', { origin: 'https://evil.example', 'x-csrf-token': token }],
        ['PATCH', { 'x-csrf-token': token }],
      ];
      for (const [method, headers] of cases) {
        const response = await send(method as 'GET', '/v1/me', jar, headers, method === 'GET' ? undefined : { name: 'Evil' });
        assert.deepEqual([response.statusCode, response.json<Record<string, unknown>>()['code']], [403, 'csrf_rejected'], `${method} ${JSON.stringify(headers)}`);
      }
      assert.notEqual((await send('GET', '/v1/me', jar)).json<Record<string, unknown>>()['name'], 'Evil');
    });

    it('a login forged from another site sets no cookie (login CSRF)', async () => {
      const account = await createUser(test, { label: 'login-csrf' });
      const response = await test.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'gatehouse-session': 'cookie', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        payload: { email: account.email, password: account.password },
      });
      assert.deepEqual([response.statusCode, response.json<Record<string, unknown>>()['code']], [403, 'csrf_rejected']);
      assert.equal(response.headers['set-cookie'], undefined);
    });

    it('a tampered session cookie authenticates nothing', async () => {
      const { jar } = await cookieLogin('cookie-tamper');
      const value = jar.cookies.get('__Host-gh_session') ?? '';
      const flipped = `${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`;
      const response = await send('GET', '/v1/me', { ...jar, cookies: new Map([...jar.cookies, ['__Host-gh_session', flipped]]) });
      assert.equal(response.statusCode, 401);
    });

    it('cookie refresh rotates with the CSRF token; a replayed refresh cookie ends the session, as for bearer clients', async () => {
      const { jar } = await cookieLogin('cookie-refresh');
      const refreshed = await send('POST', '/v1/auth/refresh', jar, { ...COOKIE_MODE, 'x-csrf-token': csrf(jar) }, {});
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(refreshed.json<Record<string, unknown>>()['token_type'], 'cookie');
      const next = jarOf(refreshed.headers['set-cookie'], jar);
      assert.notEqual(next.cookies.get('__Host-gh_refresh'), jar.cookies.get('__Host-gh_refresh'));
      assert.equal((await send('GET', '/v1/me', next)).statusCode, 200);
      const noToken = await send('POST', '/v1/auth/refresh', next, COOKIE_MODE, {});
      assert.deepEqual([noToken.statusCode, noToken.json<Record<string, unknown>>()['code']], [403, 'csrf_rejected']);
      // The old cookie again (a copy taken before the rotation): the family is compromised.
      const replay = await send('POST', '/v1/auth/refresh', jar, { ...COOKIE_MODE, 'x-csrf-token': csrf(jar) }, {});
      assert.deepEqual([replay.statusCode, replay.json<Record<string, unknown>>()['code']], [401, 'refresh_token_reused']);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await send('GET', '/v1/me', next)).statusCode, 401, 'the rotated session is ended too');
    });

    it('logout ends the session and deletes its cookies', async () => {
      const { jar } = await cookieLogin('cookie-logout');
      const out = await send('POST', '/v1/auth/logout', jar, { origin: ORIGIN, 'x-csrf-token': csrf(jar) });
      assert.equal(out.statusCode, 204, out.body);
      const after = jarOf(out.headers['set-cookie'], jar);
      assert.deepEqual([...after.cookies.keys()].sort(), ['__Host-gh_device']);
      assert.equal((await send('GET', '/v1/me', jar)).statusCode, 401);
    });

    it('a second factor in cookie mode: the password step sets no cookie, the second step sets them; the device cookie is used next time', async () => {
      const account = await createUser(test, { label: 'cookie-mfa' });
      const first = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password } });
      const { secret } = await enrolTotp(test, first.json<{ access_token: string }>().access_token);
      const step = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: COOKIE_MODE, payload: { email: account.email, password: account.password } });
      assert.equal(step.json<Record<string, unknown>>()['mfa_required'], true);
      assert.equal(step.headers['set-cookie'], undefined, 'nothing before the second factor');
      const done = await test.app.inject({
        method: 'POST',
        url: '/v1/auth/mfa',
        headers: COOKIE_MODE,
        payload: { mfa_token: step.json<Record<string, unknown>>()['mfa_token'], code: totpCodeAt(secret, totpStep(new Date()) + 1) },
      });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json<Record<string, unknown>>()['token_type'], 'cookie');
      const jar = jarOf(done.headers['set-cookie']);
      assert.ok(jar.cookies.has('__Host-gh_session') && jar.cookies.has('__Host-gh_device'));
      const me = await send('GET', '/v1/me', jar);
      assert.equal(me.statusCode, 200);
      // The next login from this browser presents the device cookie: it counts on that device.
      const again = await test.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { ...COOKIE_MODE, cookie: `__Host-gh_device=${jar.cookies.get('__Host-gh_device') ?? ''}` },
        payload: { email: account.email, password: account.password },
      });
      assert.equal(again.json<Record<string, unknown>>()['mfa_required'], true);
      const challenges = await test.services.auth.db
        .selectFrom('audit_events')
        .select('details')
        .where('action', '=', 'auth.mfa_challenged')
        .where('target_id', '=', account.id)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        challenges.map((row) => (row.details)['known_device']),
        [false, true],
        'the first login came from an unknown device, the second from the known one',
      );
    });

    it('bearer clients are unaffected, and an Authorization header is never topped up by a cookie', async () => {
      const account = await createUser(test, { label: 'bearer' });
      const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password } });
      assert.equal(login.statusCode, 200);
      assert.equal(login.headers['set-cookie'], undefined, 'no cookies without cookie mode');
      const token = login.json<{ access_token: string }>().access_token;
      const write = await test.app.inject({ method: 'PATCH', url: '/v1/me', headers: { authorization: `Bearer ${token}` }, payload: { name: 'Bearer' } });
      assert.equal(write.statusCode, 200, 'no Origin and no CSRF token needed');
      const { jar } = await cookieLogin('cookie-beside-bearer');
      const mixed = await send('GET', '/v1/me', jar, { authorization: 'Bearer not-a-token' });
      assert.equal(mixed.statusCode, 401, 'a bad bearer token is not rescued by a good cookie');
    });
  });
}
