// "Your data" in Chromium, against a real server: a user downloads their data after
// confirming it is them (a stale sign-in), gets a real ZIP holding their profile, and is
// told to wait once the day's exports are used up; then deletes their account: signed
// out, told when the erasure is due, and the mailed link (which does nothing until its
// button is pressed) keeps the account, once. Another user logs in again during the grace
// period and keeps the account from the banner; the last administrator is refused. On
// every page: zero CSP violations, no uncaught error, no request leaving the origin, the
// page checks of helpers/browser.ts and a screenshot.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';
import { accountSection, assertClean, checkPage, heading, launchChromium, linkFromMail, logIn, logInFully, openWatchedPage, type WatchedPage } from '../helpers/browser.ts';
import { freePort } from '../helpers/server-process.ts';
import { unzip } from '../helpers/zip.ts';
import { call, createSignedIn, createUser, GENEROUS_LIMITS, signIn, type Account } from '../security/authz.fixtures.ts';

const REAUTH_MAX_AGE_SECONDS = 300;
const GRACE_DAYS = 7;
const DAY_MS = 86_400_000;

describe('"Your data" in Chromium', () => {
  let test: TestApp;
  let browser: Browser;
  let origin: string;
  // The server's clock runs this far ahead of the real one: moving it on makes a sign-in stale.
  let offset = 0;
  const now = (): Date => new Date(Date.now() + offset);

  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    test = await startTestApp({
      listen: true,
      port,
      clock: now,
      webApp: await builtWebApp(),
      env: { ...GENEROUS_LIMITS, PUBLIC_URL: origin, REAUTH_MAX_AGE: String(REAUTH_MAX_AGE_SECONDS), ACCOUNT_DELETION_GRACE_DAYS: String(GRACE_DAYS) },
    });
    browser = await launchChromium();
  });
  // A failed start must not leave the server running (the run would never end).
  after(async () => {
    await (browser as Browser | undefined)?.close();
    await (test as TestApp | undefined)?.close();
  });

  async function open(): Promise<WatchedPage> {
    return openWatchedPage(browser, origin);
  }

  /** A new user, logged in, on "Your data". */
  async function onDataPage(label: string): Promise<{ readonly account: Account; readonly watched: WatchedPage; readonly page: Page }> {
    const account = await createUser(test, { label });
    const watched = await open();
    const { page } = watched;
    await logInFully(page, account);
    await accountSection(page, 'Your data', 'Your data');
    return { account, watched, page };
  }

  /** Asks for the deletion on "Your data" and lands, signed out, on the page that says when it is due. */
  async function deleteAccount(watched: WatchedPage, options: { readonly screenshots: boolean }): Promise<void> {
    const { page } = watched;
    await page.getByRole('button', { name: 'Delete your account' }).click();
    const question = page.getByRole('group', { name: 'Delete your account' });
    await question.getByText('erased after a grace period').waitFor();
    if (options.screenshots) await checkPage(watched, 'privacy-delete-question');
    await question.getByRole('button', { name: 'Yes, delete my account' }).click();
    await heading(page, 'Your account will be deleted');
  }

  /** The server's answer to GET /v1/me/deletion for `account` (logging in does not cancel it). */
  async function deletionOf(account: Account): Promise<{ scheduled: boolean; due_at?: string }> {
    const tokens = await signIn(test, account);
    const answer = await call(test, 'GET', '/v1/me/deletion', { token: tokens.access_token });
    assert.equal(answer.status, 200, answer.body);
    return answer.json<{ scheduled: boolean; due_at?: string }>();
  }

  it('downloads a ZIP of their data after confirming it is them, is told to wait after three a day, then deletes the account and keeps it with the mailed link', async () => {
    const { account, watched, page } = await onDataPage('privacy-export');
    await page.getByText('It never holds a secret').waitFor();
    await checkPage(watched, 'privacy-data');

    // A stale sign-in: the download asks to confirm it is them, then goes on by itself.
    offset += (REAUTH_MAX_AGE_SECONDS + 60) * 1000;
    await page.getByRole('button', { name: 'Download your data' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByLabel('Your password').fill(account.password);
    const downloading = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /^gatehouse-export-\d{4}-\d{2}-\d{2}\.zip$/);
    const path = await download.path();
    const files = await unzip(await readFile(path));
    const profile = JSON.parse(files.get('profile.json') ?? '{}') as { email?: string; id?: string };
    assert.deepEqual({ email: profile.email, id: profile.id }, { email: account.email, id: account.id });
    assert.ok(files.has('security-events.ndjson') && files.has('manifest.json'), `files: ${[...files.keys()].join(', ')}`);
    await page.getByRole('status').filter({ hasText: 'Your data was downloaded' }).waitFor();

    // Two more exports elsewhere use up the day's three: the page says to wait.
    const elsewhere = await signIn(test, account);
    for (let index = 0; index < 2; index += 1) {
      const exported = await call(test, 'GET', '/v1/me/export', { token: elsewhere.access_token });
      assert.equal(exported.status, 200, exported.body);
    }
    await page.getByRole('button', { name: 'Download your data' }).click();
    await page.getByRole('alert').filter({ hasText: /Too many attempts\. Try again in \d+ (hours|minutes)\./ }).waitFor();
    await checkPage(watched, 'privacy-data-rate-limited');

    await deleteAccount(watched, { screenshots: true });
    const due = await page.locator('time').getAttribute('datetime');
    assert.ok(due !== null && Math.abs(Date.parse(due) - (now().getTime() + GRACE_DAYS * DAY_MS)) < 60_000, `due at ${String(due)}`);
    assert.equal(new URL(page.url()).pathname, '/goodbye');
    await checkPage(watched, 'privacy-goodbye-scheduled');
    // Signed out here (the server ended every session): the account area asks to log in.
    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Log in', exact: true }).waitFor();
    await page.goto('/account/data');
    await page.getByText('You are not logged in.').waitFor();

    // The mailed link: opening it changes nothing until the button is pressed (mail scanners open links).
    await test.settle();
    const link = linkFromMail(test, account.email, /will be deleted/);
    await page.goto(link);
    await heading(page, 'Keep your account');
    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
    assert.equal((await deletionOf(account)).scheduled, true, 'opening the link alone keeps nothing');
    await checkPage(watched, 'privacy-cancel-deletion');
    await page.getByRole('button', { name: 'Keep my account' }).click();
    await heading(page, 'Your account is kept');
    await checkPage(watched, 'privacy-cancel-deletion-done');
    assert.deepEqual(await deletionOf(account), { scheduled: false });

    // The link works once (opened anew: from the same page it would only change the fragment).
    await page.goto('/');
    await page.goto(link);
    await page.getByRole('button', { name: 'Keep my account' }).click();
    await page.getByRole('alert').filter({ hasText: 'This link is invalid, was already used, or has expired.' }).waitFor();
    await checkPage(watched, 'privacy-cancel-deletion-invalid');
    assertClean(watched);
    await page.context().close();
  });

  it('a user who asked for the deletion logs in again, sees when it is due, and keeps the account from the banner', async () => {
    const { account, watched, page } = await onDataPage('privacy-banner');
    assert.equal(await page.getByRole('region', { name: 'Account deletion' }).count(), 0, 'no banner before the deletion is asked for');
    await deleteAccount(watched, { screenshots: false });
    const due = await page.locator('time').getAttribute('datetime');

    await logInFully(page, account);
    const banner = page.getByRole('region', { name: 'Account deletion' });
    await banner.getByText('Your account will be deleted on').waitFor();
    assert.equal(await banner.locator('time').getAttribute('datetime'), due, 'the banner names the date the deletion page gave');
    await checkPage(watched, 'privacy-overview-banner');
    // The same banner on "Your data".
    await accountSection(page, 'Your data', 'Your data');
    await banner.waitFor();
    await accountSection(page, 'Overview', 'Your account');
    await banner.getByRole('button', { name: 'Keep my account' }).click();
    await page.getByRole('status').filter({ hasText: 'Your account will be kept' }).waitFor();
    assert.equal(await banner.count(), 0, 'the banner is gone');
    assert.deepEqual(await deletionOf(account), { scheduled: false });
    await page.reload();
    await heading(page, 'Your account');
    await page.getByText(account.email).waitFor();
    assert.equal(await banner.count(), 0, 'still gone after a reload');
    assertClean(watched);
    await page.context().close();
  });

  it('the last administrator is told to make someone else an administrator first, and stays signed in', async () => {
    const admin = await createSignedIn(test, { label: 'privacy-admin', roles: ['admin'] });
    const watched = await open();
    const { page } = watched;
    await logIn(page, admin);
    await heading(page, 'Confirm it is you');
    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    // Spent here: signIn() below takes the next one.
    await page.getByLabel('Recovery code').fill(admin.recoveryCodes?.shift() ?? '');
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Your account');
    await accountSection(page, 'Your data', 'Your data');
    await page.getByRole('button', { name: 'Delete your account' }).click();
    await page.getByRole('button', { name: 'Yes, delete my account' }).click();
    await page.getByRole('alert').filter({ hasText: 'This would leave no administrator. Make someone else an administrator first.' }).waitFor();
    await checkPage(watched, 'privacy-last-admin');
    assert.deepEqual(await deletionOf(admin), { scheduled: false });
    await accountSection(page, 'Overview', 'Your account');
    await page.getByText(admin.email).waitFor();
    assertClean(watched);
    await page.context().close();
  });
});
