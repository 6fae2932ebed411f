// Cross-site request forgery against a signed-in browser, in Chromium: a page on another
// origin (a port of the same host is the same site, so SameSite cookies still go with its
// requests: the origin check is what stops it) posts to the API with the user's cookies,
// and a script of the app's own origin tries a write without the CSRF token. Both are
// refused, and the account is unchanged.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';
import { launchChromium } from '../helpers/browser.ts';
import { freePort } from '../helpers/server-process.ts';
import { createUser, GENEROUS_LIMITS } from '../security/authz.fixtures.ts';

interface PageFetch {
  fetch(url: string, init: { method: string; credentials?: string; headers?: Record<string, string>; body?: string; mode?: string }): Promise<{ status: number; text(): Promise<string> }>;
}

describe('CSRF against a cookie session in Chromium', () => {
  let test: TestApp;
  let browser: Browser;
  let attacker: Server;
  let attackerURL: string;

  before(async () => {
    const port = await freePort();
    test = await startTestApp({ listen: true, port, webApp: await builtWebApp(), env: { ...GENEROUS_LIMITS, PUBLIC_URL: `http://127.0.0.1:${port}` } });
    attacker = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>attacker</title><p>nothing to see</p>');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const address = attacker.address();
    assert.ok(address !== null && typeof address === 'object');
    attackerURL = `http://127.0.0.1:${address.port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await test.close();
    await new Promise((resolve) => attacker.close(resolve));
  });

  it('a page of another origin cannot change the account with the user\'s cookies, nor can a script of the app without the CSRF token', async () => {
    const account = await createUser(test, { label: 'csrf-victim' });
    const context = await browser.newContext({ baseURL: test.baseURL });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor({ timeout: 10_000 });

    // Same origin, but no CSRF token: a script injected into the app could try this.
    const bare = await page.evaluate(async () => {
      const response = await (globalThis as unknown as PageFetch).fetch('/v1/me', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'No token' }) });
      return { status: response.status, body: await response.text() };
    });
    assert.equal(bare.status, 403, bare.body);
    assert.match(bare.body, /csrf_rejected/);

    // Another origin of the same site: the browser sends the SameSite=Strict cookies
    // (same site), and an Origin the server does not allow.
    const evil = await context.newPage();
    await evil.goto(attackerURL);
    // Simple requests (POST, no custom header) need no preflight: the browser sends them,
    // cookies included, and only the server's origin check stands in the way.
    // (The answer is opaque to the page, or withheld altogether by Cross-Origin-Resource-Policy.)
    const post = (url: string): Promise<void> =>
      evil.evaluate(async (target) => {
        await (globalThis as unknown as PageFetch).fetch(target, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }).catch(() => null);
      }, url);
    await post(`${test.baseURL}/v1/me/mfa/totp`);
    await post(`${test.baseURL}/v1/auth/logout`);
    // The requests arrived, with the cookies, and were refused by the origin check.
    const refusals = test.logs.filter((line) => line.includes('"status":403') && (line.includes('/v1/me/mfa/totp') || line.includes('/v1/auth/logout')));
    assert.equal(refusals.length, 2, test.logs.filter((line) => line.includes('/v1/')).slice(-6).join('\n'));

    const changes = await test.services.auth.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', 'in', ['user.updated', 'mfa.totp_enrolment_started'])
      .where('target_id', '=', account.id)
      .execute();
    assert.deepEqual(changes, [], 'nothing changed');
    const ended = await test.services.auth.db.selectFrom('sessions').select('id').where('user_id', '=', account.id).where('revoked_at', 'is not', null).execute();
    assert.deepEqual(ended, [], 'the session was not ended');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor({ timeout: 10_000 });
    await context.close();
  });
});
