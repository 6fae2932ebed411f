// The web app in a real browser (Chromium through playwright-core), against a real server
// on loopback: a new user registers, confirms the address from the mail's link, logs in
// and out; a user with an authenticator app gets the second step after the password. On
// every page: zero CSP violations (Trusted Types included), no uncaught error, no request
// leaving the origin, no token in web storage or document.cookie, and a name holding an
// XSS payload shows as text.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/server-process.ts';
import { assertClean, assertNoReadableTokens, checkPage, heading, launchChromium, linkFromMail, openWatchedPage, saveScreenshot } from '../helpers/browser.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { enrolTotp } from '../helpers/mfa.ts';
import { createUser, GENEROUS_LIMITS, signIn } from '../security/authz.fixtures.ts';

const XSS_NAME = '<img src=x onerror="document.title=\'pwned\'">';

describe('the web app in Chromium', () => {
  let test: TestApp;
  let browser: Browser;

  before(async () => {
    // Cookie sessions accept only PUBLIC_URL's origin: the server listens where it says.
    const port = await freePort();
    test = await startTestApp({ listen: true, port, webApp: await builtWebApp(), env: { ...GENEROUS_LIMITS, PUBLIC_URL: `http://127.0.0.1:${port}` } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await test.close();
  });

  it('register, confirm from the mail, log in and out: the typed values survive an error, the name stays text', async () => {
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    const email = uniqueEmail('browser');
    const password = strongPassword();

    await page.goto('/register');
    await heading(page, 'Create your account');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Name (optional)').fill(XSS_NAME);
    await page.getByLabel('Password', { exact: true }).fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    // The policy's refusal, its advice, and everything typed still there.
    await page.getByRole('alert').filter({ hasText: 'Choose a stronger password.' }).waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), email);
    assert.equal(await page.getByLabel('Name (optional)').inputValue(), XSS_NAME);
    assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');
    await checkPage(watched, 'register-refused');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading(page, 'Check your inbox');

    await test.settle();
    await page.goto(linkFromMail(test, email, /confirm|verify/i));
    await heading(page, 'Email confirmed');
    assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');

    await page.getByRole('link', { name: 'Log in' }).last().click();
    await heading(page, 'Log in');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await heading(page, 'Your account');
    await page.getByText(email).waitFor();
    // The payload is shown as the text it is, and ran nowhere.
    await page.getByText(XSS_NAME, { exact: true }).waitFor();
    assert.equal(await page.locator('img').count(), 0);
    assert.notEqual(await page.title(), 'pwned');
    await assertNoReadableTokens(page);
    await saveScreenshot(page, 'account-signed-in');
    // A cookie session (docs/browser-sessions.md): httpOnly cookies the page cannot read, so
    // the session survives a reload without anything kept by the page.
    const cookies = await page.context().cookies();
    const session = cookies.find((cookie) => cookie.name === '__Host-gh_session');
    assert.ok(session !== undefined && session.httpOnly && session.sameSite === 'Strict' && session.secure, JSON.stringify(cookies.map((cookie) => cookie.name)));
    await page.reload();
    await heading(page, 'Your account');
    await page.getByText(email).waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in');
    await assertNoReadableTokens(page);
    assert.equal((await page.context().cookies()).some((cookie) => cookie.name === '__Host-gh_session'), false, 'logout deletes the session cookie');
    assertClean(watched);
    await page.context().close();
  });

  it('a wrong password is refused with the email kept; an account with a second factor gets the next step', async () => {
    const account = await createUser(test, { label: 'browser-mfa' });
    const enrolled = await enrolTotp(test, (await signIn(test, account)).access_token);
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;

    await page.goto('/login');
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(`${account.password}x`);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'The email or password is incorrect.' }).waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), account.email);
    await checkPage(watched, 'login-refused');

    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await heading(page, 'Confirm it is you');
    await page.getByLabel('Code from your authenticator app').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').filter({ hasText: 'That code is not correct.' }).waitFor();
    await checkPage(watched, 'login-second-factor');

    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(enrolled.recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Your account');
    await page.getByText(account.email).waitFor();
    await assertNoReadableTokens(page);
    assertClean(watched);
    await page.context().close();
  });

  it('forgot and reset the password from the mail link, then log in with the new one', async () => {
    const account = await createUser(test, { label: 'browser-reset' });
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    const password = strongPassword();

    await page.goto('/forgot-password');
    await page.getByLabel('Email').fill(account.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await heading(page, 'Check your inbox');
    await test.settle();
    await page.goto(linkFromMail(test, account.email, /reset|password/i));
    await heading(page, 'Choose a new password');
    assert.equal(new URL(page.url()).hash, '');
    await checkPage(watched, 'reset-password');
    await page.getByLabel('New password').fill(password);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await heading(page, 'Password changed');

    await page.getByRole('link', { name: 'Log in' }).last().click();
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await heading(page, 'Your account');
    assertClean(watched);
    await page.context().close();
  });

  it('the pages a mail or a bookmark opens directly load without violations', async () => {
    const watched = await openWatchedPage(browser, test.baseURL);
    const { page } = watched;
    for (const [path, title] of [
      ['/', 'Welcome to Gatehouse'],
      ['/verify-email', 'Confirmation link incomplete'],
      ['/reset-password', 'Reset link incomplete'],
      ['/verify-email#token=not-a-real-token', 'Could not confirm your email'],
      ['/account', 'Your account'],
      ['/admin/users', 'Administration'],
      ['/account/nowhere/deep', 'Your account'],
    ] as const) {
      await page.goto(path);
      await heading(page, title);
      await checkPage(watched, path);
    }
    await page.goto('/verify-email#token=used-or-never-issued');
    await page.getByRole('alert').filter({ hasText: 'This link is invalid, was already used, or has expired.' }).waitFor();
    assertClean(watched);
    await page.context().close();
  });
});
