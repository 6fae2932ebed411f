// The admin console in a real browser (Chromium through playwright-core) against a real
// server on loopback. An admin logs in with the password and a TOTP code computed here,
// finds a user by email, disables them (their login then fails), assigns them a role after
// confirming it is them (the step-up dialog, REAUTH_MAX_AGE having passed on the server's
// clock), creates a custom role from the permission catalog, and in the audit trail filters
// the events, verifies the chain and exports it. A user without admin permissions sees no
// link to the console and a "no permission" state in it; support sees only its sections.
// Names, user agents and audit details holding markup show as text. On every page: zero
// CSP violations, no uncaught error, no request leaving the origin, and a screenshot.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { totpCodeAt, totpStep, type TotpSecret } from '../../src/features/mfa/totp.ts';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';
import { assertClean, checkPage, heading, launchChromium, openWatchedPage, type WatchedPage } from '../helpers/browser.ts';
import { strongPassword } from '../helpers/http.ts';
import { enrolTotp } from '../helpers/mfa.ts';
import { freePort } from '../helpers/server-process.ts';
import { createUser, GENEROUS_LIMITS, signIn, type Account } from '../security/authz.fixtures.ts';
import { manualClock, type ManualClock } from '../security/security.fixtures.ts';

const XSS = '<img src=x onerror="document.title=\'pwned\'">';
/** The shortest REAUTH_MAX_AGE the configuration takes. */
const REAUTH_MAX_AGE = 60;

interface Admin extends Account {
  readonly secret: TotpSecret;
}

/** The page shows `name` as text, and the markup in it ran nowhere. */
async function assertInert(page: Page, text: string): Promise<void> {
  await page.getByText(text, { exact: true }).first().waitFor();
  assert.equal(await page.locator('img').count(), 0, 'no element was made from the text');
  assert.notEqual(await page.title(), 'pwned');
}

/** One page visited: nothing the CSP refused so far, no serious accessibility violation, no readable credential, and a screenshot of it. */
async function visited(watched: WatchedPage, name: string): Promise<void> {
  assertClean(watched);
  await checkPage(watched, name);
}

describe('the admin console in Chromium', () => {
  let test: TestApp;
  let browser: Browser;
  let time: ManualClock;
  let admin: Admin;

  /** The admin's current TOTP code, by the server's clock. */
  const code = (): string => totpCodeAt(admin.secret, totpStep(time.clock()));

  before(async () => {
    const port = await freePort();
    time = manualClock();
    test = await startTestApp({
      listen: true,
      port,
      clock: time.clock,
      webApp: await builtWebApp(),
      env: { ...GENEROUS_LIMITS, PUBLIC_URL: `http://127.0.0.1:${port}`, REAUTH_MAX_AGE: String(REAUTH_MAX_AGE) },
    });
    browser = await launchChromium();
    // Admins must have a second factor (MFA_REQUIRED_ROLES): one enrolled through the API.
    const account = await createUser(test, { roles: ['admin'], label: 'console-admin' });
    const enrolled = await enrolTotp(test, (await signIn(test, account)).access_token);
    admin = { ...account, secret: enrolled.secret };
    // The enrolment spent this period's code: the browser login uses the next one.
    time.advanceSeconds(30);
  });
  after(async () => {
    await browser.close();
    await test.close();
  });

  async function logIn(page: Page, account: Account, secondFactor: (() => string) | null): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    if (secondFactor !== null) {
      await heading(page, 'Confirm it is you');
      await page.getByLabel('Code from your authenticator app').fill(secondFactor());
      await page.getByRole('button', { name: 'Continue' }).click();
    }
    await heading(page, 'Your account');
  }

  it('an admin finds a user, disables them, assigns a role after confirming it is them, and creates a custom role', async () => {
    const target = await createUser(test, { label: 'console-target', name: XSS });
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;

    await logIn(page, admin, code);
    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Administration' }).click();
    await heading(page, 'Administration');
    const sections = page.getByRole('navigation', { name: 'Administration' });
    for (const name of ['Users', 'Roles', 'Audit trail']) await sections.getByRole('link', { name }).waitFor();
    await visited(watched, 'admin');

    // Users: the list, then a search by the exact address.
    await sections.getByRole('link', { name: 'Users' }).click();
    await heading(page, 'Users');
    await page.getByRole('list', { name: 'Users' }).getByRole('listitem').first().waitFor();
    await page.getByLabel('Email address').fill(target.email.toUpperCase());
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Showing 1 user.').waitFor();
    const rows = page.getByRole('list', { name: 'Users' }).getByRole('listitem').filter({ has: page.getByRole('link') });
    assert.equal(await rows.count(), 1);
    await rows.getByRole('link', { name: target.email }).waitFor();
    await assertInert(page, XSS);
    await visited(watched, 'admin-users');

    // The user's page: disable, with a confirmation first.
    await rows.getByRole('link', { name: target.email }).click();
    await heading(page, 'User');
    assert.equal(new URL(page.url()).pathname, `/admin/users/${target.id}`);
    await assertInert(page, XSS);
    await page.getByRole('button', { name: 'Disable account' }).click();
    await page.getByRole('group', { name: 'Disable account' }).getByText(/Their sessions end at once/).waitFor();
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'The account is disabled.' }).waitFor();
    await page.getByRole('list', { name: 'Status' }).getByText('Disabled').waitFor();
    await page.getByRole('button', { name: 'Enable account' }).waitFor();
    // The disabled user's login fails (a wrong password first, from a browser whose user
    // agent is markup: the audit trail shows it below).
    const wrong = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': XSS }, payload: { email: target.email, password: strongPassword() } });
    assert.equal(wrong.statusCode, 401);
    const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: target.email, password: target.password } });
    assert.equal(login.statusCode, 403);
    assert.equal(login.json<{ code: string }>().code, 'account_disabled');
    await visited(watched, 'admin-user');

    // Assigning a role is a step-up action: past REAUTH_MAX_AGE the admin confirms it is them.
    time.advanceSeconds(REAUTH_MAX_AGE + 1);
    await page.getByLabel('Role to assign').selectOption('support');
    await page.getByRole('button', { name: 'Assign role' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByLabel('Your password').fill(`${admin.password}x`);
    await dialog.getByLabel('Code from your authenticator app').fill(code());
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('alert').waitFor();
    assert.equal(await dialog.getByLabel('Your password').inputValue(), `${admin.password}x`, 'what was typed stays');
    await visited(watched, 'admin-user-confirm');
    time.advanceSeconds(30);
    await dialog.getByLabel('Your password').fill(admin.password);
    await dialog.getByLabel('Code from your authenticator app').fill(code());
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').filter({ hasText: 'Role support assigned.' }).waitFor();
    assert.equal(await dialog.count(), 0, 'the dialog is gone');
    await page.getByRole('button', { name: 'Remove the role support' }).waitFor();
    const stored = await test.services.auth.db.selectFrom('user_roles').select('role').where('user_id', '=', target.id).orderBy('role').execute();
    assert.deepEqual(stored.map((row) => row.role), ['support', 'user']);

    // Roles: a custom role from the catalog (within the confirmation's lifetime: no dialog).
    const roleName = `helpdesk-${Date.now().toString(36)}`;
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Roles' }).click();
    await heading(page, 'Roles');
    await page.getByRole('heading', { name: /^admin/ }).waitFor();
    await page.getByText('Built-in roles are defined by Gatehouse and cannot be changed.').first().waitFor();
    await page.getByLabel('Name', { exact: true }).fill(roleName);
    await page.getByLabel('Description (optional)').fill(XSS);
    await page.getByRole('checkbox', { name: /users:read/ }).check();
    await page.getByRole('checkbox', { name: /audit:read/ }).check();
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('status').filter({ hasText: `Role ${roleName} created.` }).waitFor();
    const created = page.getByRole('list', { name: 'Roles' }).getByRole('listitem').filter({ has: page.getByRole('heading', { name: roleName }) });
    await created.getByText('users:read', { exact: true }).waitFor();
    await created.getByText('audit:read', { exact: true }).waitFor();
    await assertInert(page, XSS);
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), '', 'a fresh form for the next role');
    await visited(watched, 'admin-roles');

    // Changed, then deleted after a confirmation; built-in roles offer neither.
    await page.getByRole('button', { name: `Change the role ${roleName}` }).click();
    await page.getByRole('heading', { name: `Change the role ${roleName}` }).waitFor();
    await page.getByRole('checkbox', { name: /audit:read/ }).uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: `Role ${roleName} saved.` }).waitFor();
    // The notice comes first, then the list is read again from the server.
    await created.getByText('audit:read', { exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(await created.getByRole('list').getByRole('listitem').allTextContents(), ['users:read']);
    assert.equal(await page.getByRole('button', { name: /^(Change|Delete) the role (admin|auditor|support|user)$/ }).count(), 0);
    await page.getByRole('button', { name: `Delete the role ${roleName}` }).click();
    await page.getByRole('button', { name: 'Delete the role', exact: true }).click();
    await page.getByRole('status').filter({ hasText: `Role ${roleName} deleted.` }).waitFor();
    // As above: the notice first, then the list read again without the role.
    await page.getByRole('heading', { name: roleName }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('heading', { name: roleName }).count(), 0);
    assert.equal(await test.services.auth.db.selectFrom('roles').select('name').where('name', '=', roleName).executeTakeFirst(), undefined);
    assertClean(watched);
    await page.context().close();
  });

  it('an admin unlocks a locked-out user, signs them out, sends a reset, removes their second factors and deletes them', async () => {
    const target = await createUser(test, { label: 'console-actions' });
    const enrolled = await enrolTotp(test, (await signIn(test, target)).access_token);
    assert.ok(enrolled.recoveryCodes.length > 0);
    for (let attempt = 0; attempt < test.config.auth.lockoutThreshold; attempt += 1) {
      const wrong = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: target.email, password: strongPassword() } });
      assert.equal(wrong.statusCode, 401);
    }
    time.advanceSeconds(30);
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    await logIn(page, admin, code);
    await page.goto(`/admin/users/${target.id}`);
    await heading(page, 'User');
    await page.getByRole('list', { name: 'Status' }).getByText(/^Locked until /).waitFor();
    await visited(watched, 'admin-user-locked');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('status').filter({ hasText: 'The account is unlocked.' }).waitFor();
    await page.getByRole('button', { name: 'Unlock' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('list', { name: 'Status' }).getByText(/^Locked until /).count(), 0);

    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('button', { name: 'End their sessions' }).click();
    await page.getByRole('status').filter({ hasText: 'Ended 1 session.' }).waitFor();

    await page.getByRole('button', { name: 'Send a password reset' }).click();
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('status').filter({ hasText: 'A password reset link is on its way.' }).waitFor();
    await test.settle();
    assert.ok(test.mails.some((mail) => mail.to === target.email && /reset/i.test(mail.subject)));

    await page.getByRole('button', { name: 'Remove second factors' }).click();
    await page.getByRole('button', { name: 'Remove them' }).click();
    await page.getByRole('status').filter({ hasText: 'Their second factors are removed.' }).waitFor();
    const factors = await test.services.auth.db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', target.id).execute();
    assert.deepEqual(factors, []);

    // Deleting asks first; "Cancel" leaves the user be.
    await page.getByRole('button', { name: 'Delete user' }).click();
    await page.getByRole('group', { name: 'Delete user' }).getByText('This cannot be undone.', { exact: false }).waitFor();
    await page.getByRole('group', { name: 'Delete user' }).getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Delete user' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await heading(page, 'User deleted');
    assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: target.email, password: target.password } })).statusCode, 401);
    await visited(watched, 'admin-user-deleted');
    await page.context().close();
  });

  it('the audit trail: filters, paging, details and user agents as text, the chain verified, the export downloaded', async () => {
    const target = await createUser(test, { label: 'console-audited' });
    // A failed login from a browser whose user agent is markup, and an event whose details
    // hold markup (as any recorded input could); then enough events for a second page.
    const failed = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': XSS }, payload: { email: target.email, password: strongPassword() } });
    assert.equal(failed.statusCode, 401);
    await test.services.auth.change({ ip: null, userAgent: null, requestId: null }, ({ audit }) => {
      audit({ actor: { type: 'system' }, action: 'test.markup', target: { type: 'user', id: target.id }, outcome: 'success', details: { note: XSS } });
      for (let filler = 0; filler < 60; filler += 1) audit({ actor: { type: 'system' }, action: 'test.filler', outcome: 'success', details: { filler } });
      return Promise.resolve();
    });
    time.advanceSeconds(30);
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    await logIn(page, admin, code);
    await page.goto('/admin/audit');
    await heading(page, 'Audit trail');
    await page.getByRole('list', { name: 'Events' }).getByRole('listitem').first().waitFor();

    // Filtered by target: the user's events, newest first, as the database has them.
    const expected = await test.services.auth.db.selectFrom('audit_events').select('action').where('target_id', '=', target.id).orderBy('seq', 'desc').execute();
    await page.getByLabel('Target').fill(target.id);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText(`Showing ${expected.length} events, newest first.`).waitFor();
    const events = page.getByRole('list', { name: 'Events' }).getByRole('listitem');
    assert.deepEqual(await events.locator('.admin-item-title .mono').allTextContents(), expected.map((row) => row.action));
    assert.equal(expected[0]?.action, 'test.markup');
    await events.first().getByText('Details').click();
    const details = await events.first().locator('pre').textContent();
    assert.equal(details, JSON.stringify({ note: XSS }, null, 2), 'the details, pretty-printed as text');
    await assertInert(page, XSS);
    await visited(watched, 'admin-audit-filtered');

    // With the action too, then a time range in which nothing happened.
    await page.getByLabel('Action').fill('auth.login_failed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText(`Showing ${expected.filter((row) => row.action === 'auth.login_failed').length} event, newest first.`).waitFor();
    await page.getByLabel('Action').fill('Not An Action');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('alert').filter({ hasText: 'Some of what you entered is not valid.' }).waitFor();
    assert.equal(await page.getByLabel('Action').getAttribute('aria-invalid'), 'true', 'the refused filter is marked');
    assert.equal(await page.getByLabel('Target').inputValue(), target.id, 'the other filters stay');
    await page.getByLabel('Action').fill('');
    await page.getByLabel('From (your local time)').fill('2001-01-01T00:00');
    await page.getByLabel('Until (your local time)').fill('2001-01-02T00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No event matches these filters.').waitFor();

    // Paging: the whole trail, fifty at a time.
    await page.getByRole('button', { name: 'Clear' }).click();
    const total = Number((await test.services.auth.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()).count);
    assert.ok(total > 50, `enough events for a second page (${total})`);
    await page.getByText('Showing 50 events, newest first (older ones below).').waitFor();
    await page.getByRole('button', { name: 'Show older events' }).click();
    await page.getByText(`Showing ${Math.min(total, 100)} events`).waitFor();
    await assertInert(page, XSS);

    // The chain, verified by the server.
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    const verified = page.getByRole('status').filter({ hasText: 'The chain is intact' });
    await verified.waitFor();
    assert.match((await verified.textContent()) ?? '', /The chain is intact: \d+ events checked\./);

    // The export, saved from the page as a file.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
    assert.equal(download.suggestedFilename(), 'audit-export.ndjson');
    const lines = (await readFile(await download.path(), 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    const records = lines.filter((line) => typeof line['action'] === 'string');
    const exported = await test.services.auth.db.selectFrom('audit_events').select('seq').orderBy('seq').execute();
    // Every event, in order: the export's own record (audit.exported) is written as it starts.
    assert.deepEqual(records.map((record) => record['seq']), exported.map((row) => row.seq));
    assert.equal(records.at(-1)?.['action'], 'audit.exported');
    assert.ok(records.some((record) => record['action'] === 'test.markup' && record['target_id'] === target.id), 'the events are in the file');
    await page.getByRole('status').filter({ hasText: /^Exported \d+ events as audit-export\.ndjson\.$/ }).waitFor();
    await visited(watched, 'admin-audit');
    await page.context().close();
  });

  it('an admin whose session did not use the second factor confirms it in the dialog, then the console answers', async () => {
    // Signed in with the password alone, before the account had a factor or the admin role.
    const account = await createUser(test, { label: 'console-late-admin' });
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    await logIn(page, account, null);
    const enrolled = await enrolTotp(test, (await signIn(test, account)).access_token);
    await test.services.auth.db.insertInto('user_roles').values({ user_id: account.id, role: 'admin', granted_at: time.clock() }).execute();
    // A fresh TOTP period, and past the permission cache's second.
    time.advanceSeconds(30);
    await page.goto('/admin/users');
    await heading(page, 'Users');
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByLabel('Your password').fill(account.password);
    await dialog.getByLabel('Code from your authenticator app').fill(totpCodeAt(enrolled.secret, totpStep(time.clock())));
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('list', { name: 'Users' }).getByRole('link', { name: account.email }).waitFor();
    assert.equal(await dialog.count(), 0);
    assertClean(watched);
    await page.context().close();
  });

  it('a user without admin permissions sees no link to the console and is told they lack permission; support sees its sections only', async () => {
    const plain = await createUser(test, { label: 'console-plain' });
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    await logIn(page, plain, null);
    await page.goto('/admin');
    await heading(page, 'Administration');
    await page.getByRole('alert').filter({ hasText: 'You do not have permission to use the administration console.' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Administration' }).count(), 0, 'no link to the console');
    assert.equal(await page.getByRole('navigation', { name: 'Administration' }).count(), 0);
    await visited(watched, 'admin-no-permission');
    await page.goto('/admin/users');
    await heading(page, 'Users');
    await page.getByRole('alert').filter({ hasText: 'You do not have permission to see the users.' }).waitFor();
    assert.ok(!requested.some((path) => path.startsWith('/v1/admin/')), 'no admin request was even tried');
    // The console is a chunk of its own, loaded only for its pages.
    const chunks = requested.filter((path) => path.startsWith('/assets/'));
    assert.ok(chunks.some((path) => /^\/assets\/console-[\w-]+\.js$/.test(path)), chunks.join(', '));
    assertClean(watched);
    await page.context().close();

    const support = await createUser(test, { label: 'console-support', roles: ['support'] });
    const supportPage = await openWatchedPage(browser, test.baseURL);
    await logIn(supportPage.page, support, null);
    await supportPage.page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Administration' }).click();
    await heading(supportPage.page, 'Administration');
    const sections = supportPage.page.getByRole('navigation', { name: 'Administration' });
    await sections.getByRole('link', { name: 'Users' }).waitFor();
    assert.deepEqual(await sections.getByRole('link').allTextContents(), ['Overview', 'Users']);
    await supportPage.page.goto(`/admin/users/${admin.id}`);
    await heading(supportPage.page, 'User');
    await supportPage.page.getByText(admin.email).waitFor();
    // A reload (or a bookmark) of a console page finds the session again.
    await supportPage.page.reload();
    await heading(supportPage.page, 'User');
    await supportPage.page.getByText(admin.email).waitFor();
    // Support may sign people out and unlock them, not disable, reset or delete them.
    await supportPage.page.getByRole('button', { name: 'Sign out everywhere' }).waitFor();
    for (const name of ['Disable account', 'Delete user', 'Send a password reset', 'Remove second factors', 'Assign role']) {
      assert.equal(await supportPage.page.getByRole('button', { name }).count(), 0, name);
    }
    // The server refuses what support may not do to an admin, and the page says so.
    await supportPage.page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await supportPage.page.getByRole('button', { name: 'End their sessions' }).click();
    await supportPage.page.getByRole('alert').filter({ hasText: 'You do not have permission to do this.' }).waitFor();
    await visited(supportPage, 'admin-support-user');
    await supportPage.page.goto('/admin/audit');
    await heading(supportPage.page, 'Audit trail');
    await supportPage.page.getByRole('alert').filter({ hasText: 'You do not have permission to see the audit trail.' }).waitFor();
    assertClean(supportPage);
    await supportPage.page.context().close();
  });
});
