// The account pages in Chromium, against a real server at http://localhost (a host name,
// so passkeys work: the RP ID comes from PUBLIC_URL): the name and the password (the
// policy's refusal keeps what was typed), the step-up dialog when the sign-in is older than
// REAUTH_MAX_AGE (the server's clock is moved on, nothing sleeps) and the action retried
// after it, the sessions list (another session ended, its refresh refused; a user agent
// holding markup shown as text), TOTP set up from the key shown on the page with recovery
// codes shown once, a passkey added in Chromium's virtual authenticator and then used to log
// in without a password, and an admin who must enrol first. On every page: zero CSP
// violations, no uncaught error, no request leaving the origin, and a screenshot. And one
// new user's whole journey, from registration to a changed password, in one browser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';
import { accountSection, assertClean, checkPage, heading, launchChromium, linkFromMail, logIn, logInFully, openWatchedPage, type WatchedPage } from '../helpers/browser.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { freePort } from '../helpers/server-process.ts';
import { createUser, GENEROUS_LIMITS } from '../security/authz.fixtures.ts';

const REAUTH_MAX_AGE_SECONDS = 300;
const XSS = '<img src=x onerror="document.title=\'pwned\'">';

interface Globals {
  readonly document: { readonly title: string; readonly documentElement: { readonly scrollWidth: number }; readonly activeElement: { closest(selector: string): unknown; getAttribute(name: string): string | null } | null };
}

describe('the account pages in Chromium', () => {
  let test: TestApp;
  let browser: Browser;
  let origin: string;
  // The server's clock runs this far ahead of the real one: moving it on makes a sign-in
  // stale (step-up) or starts a new TOTP step (a code is accepted once per step).
  let offset = 0;
  const now = (): Date => new Date(Date.now() + offset);
  const passTime = (seconds: number): void => {
    offset += seconds * 1000;
  };

  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    test = await startTestApp({
      listen: true,
      port,
      clock: now,
      webApp: await builtWebApp(),
      env: { ...GENEROUS_LIMITS, PUBLIC_URL: origin, REAUTH_MAX_AGE: String(REAUTH_MAX_AGE_SECONDS) },
    });
    browser = await launchChromium();
  });
  // A failed start must not leave the server running (the run would never end).
  after(async () => {
    await (browser as Browser | undefined)?.close();
    await (test as TestApp | undefined)?.close();
  });

  /** The current code of the authenticator app holding `secret`, at the server's time (an implementation of RFC 6238 other than the server's). */
  function totpCode(secret: string): string {
    return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: now().getTime() });
  }

  async function open(): Promise<WatchedPage> {
    return openWatchedPage(browser, origin);
  }

  async function logOut(page: Page): Promise<void> {
    await accountSection(page, 'Overview', 'Your account');
    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in');
  }

  function alert(page: Page, text: string): ReturnType<Page['getByRole']> {
    return page.getByRole('alert').filter({ hasText: text });
  }

  it('the name is saved and shown as text; a weak password shows the policy\'s reasons with everything typed kept, then the change succeeds', async () => {
    const account = await createUser(test, { label: 'pages-password' });
    const watched = await open();
    const { page } = watched;
    await logInFully(page, account);

    await page.getByLabel('Name').fill(XSS);
    await page.getByRole('button', { name: 'Save the name' }).click();
    await page.getByRole('status').filter({ hasText: 'Your name was saved.' }).waitFor();
    await page.getByRole('definition').filter({ hasText: XSS }).waitFor();
    assert.equal(await page.locator('img').count(), 0);
    await snapshot(watched, 'account-overview');

    await accountSection(page, 'Password', 'Change your password');
    const current = page.getByLabel('Current password');
    const next = page.getByLabel('New password');
    await current.fill(account.password);
    await next.fill('password1234');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await alert(page, 'Choose a stronger password.').waitFor();
    // The policy's advice and its reason under the field; nothing typed is lost.
    assert.ok((await page.locator('.suggestions li').count()) > 0, 'the policy\'s suggestions are shown');
    assert.equal(await next.getAttribute('aria-invalid'), 'true');
    assert.ok((await page.locator('.field-errors li').count()) > 0, 'the reason shows under the field');
    assert.equal(await current.inputValue(), account.password);
    assert.equal(await next.inputValue(), 'password1234');
    await snapshot(watched, 'account-password-weak');

    const password = strongPassword();
    await current.fill(`${account.password}x`);
    await next.fill(password);
    await page.getByRole('button', { name: 'Change the password' }).click();
    await alert(page, 'Your current password is not correct.').waitFor();
    assert.equal(await next.inputValue(), password);

    await current.fill(account.password);
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password was changed' }).waitFor();
    const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password } });
    assert.equal(login.statusCode, 200, login.body);
    assertClean(watched);
    await page.context().close();
  });

  it('a stale sign-in gets the "Confirm it is you" dialog: Escape keeps the form, a wrong password is refused, the right one retries the change', async () => {
    const account = await createUser(test, { label: 'pages-step-up' });
    const watched = await open();
    const { page } = watched;
    await logInFully(page, account);
    await accountSection(page, 'Password', 'Change your password');
    const password = strongPassword();
    await page.getByLabel('Current password').fill(account.password);
    await page.getByLabel('New password').fill(password);
    passTime(REAUTH_MAX_AGE_SECONDS + 60);

    await page.getByRole('button', { name: 'Change the password' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.waitFor();
    // Focus moved into the dialog, on its password field.
    const focused = await page.evaluate(() => {
      const active = (globalThis as unknown as Globals).document.activeElement;
      return { inDialog: active?.closest('dialog') != null, autocomplete: active?.getAttribute('autocomplete') ?? null };
    });
    assert.deepEqual(focused, { inDialog: true, autocomplete: 'current-password' });
    await snapshot(watched, 'account-step-up');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await alert(page, 'confirm it is you before doing this').waitFor();
    assert.equal(await page.getByLabel('New password').inputValue(), password, 'cancelling keeps what was typed');

    await page.getByRole('button', { name: 'Change the password' }).click();
    await dialog.waitFor();
    await dialog.getByLabel('Your password').fill(`${account.password}x`);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'That password is not correct.' }).waitFor();
    await dialog.getByLabel('Your password').fill(account.password);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'detached' });
    // The change was sent again after the confirmation, and went through.
    await page.getByRole('status').filter({ hasText: 'Your password was changed' }).waitFor();
    const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password } });
    assert.equal(login.statusCode, 200, login.body);
    assertClean(watched);
    await page.context().close();
  });

  it('sessions: this one marked and not endable here, another one ended (its refresh is refused), a user agent holding markup shown as text', async () => {
    const account = await createUser(test, { label: 'pages-sessions' });
    const other = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'OtherDevice/1.0 (test)' }, payload: { email: account.email, password: account.password } });
    assert.equal(other.statusCode, 200, other.body);
    const otherTokens = other.json<{ refresh_token: string }>();
    // Another login from a browser whose user agent is an XSS payload.
    const hostile = await browser.newContext({ baseURL: origin, userAgent: XSS });
    const hostilePage = await hostile.newPage();
    await logInFully(hostilePage, account);
    await hostile.close();

    const watched = await open();
    const { page } = watched;
    await logInFully(page, account);
    await accountSection(page, 'Sessions', 'Your sessions');
    const list = page.getByRole('list', { name: 'Sessions' });
    await list.getByText('OtherDevice/1.0 (test)', { exact: true }).waitFor();
    await list.getByText(XSS, { exact: true }).waitFor();
    assert.equal(await page.locator('img').count(), 0, 'the user agent is text, not markup');
    assert.notEqual(await page.evaluate(() => (globalThis as unknown as Globals).document.title), 'pwned');
    const mine = list.getByRole('listitem').filter({ has: page.getByText('This session', { exact: true }) });
    assert.equal(await mine.count(), 1);
    assert.equal(await mine.getByRole('button', { name: 'End this session' }).count(), 0, 'this session is not ended from the list');
    assert.equal(await list.getByRole('listitem').count(), 3);
    await snapshot(watched, 'account-sessions');

    const item = list.getByRole('listitem').filter({ hasText: 'OtherDevice/1.0 (test)' });
    await item.getByRole('button', { name: 'End this session' }).click();
    await item.getByRole('button', { name: 'End it' }).click();
    await page.getByRole('status').filter({ hasText: 'The session was ended.' }).waitFor();
    await list.getByText('OtherDevice/1.0 (test)', { exact: true }).waitFor({ state: 'detached' });
    assert.equal(await list.getByRole('listitem').count(), 2);
    const refresh = await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: otherTokens.refresh_token } });
    assert.equal(refresh.statusCode, 401, refresh.body);

    await accountSection(page, 'Security events', 'Security events');
    const events = page.getByRole('list', { name: 'Security events' });
    await events.getByText('Session ended').first().waitFor();
    // Sign-ins this user made carry their user agent, as text.
    await events.getByText(XSS, { exact: true }).first().waitFor();
    assert.equal(await page.locator('img').count(), 0);
    await snapshot(watched, 'account-events');
    assertClean(watched);
    await page.context().close();
  });

  it('security events come a page at a time: older ones are added below', async () => {
    const account = await createUser(test, { label: 'pages-events' });
    // 25 sign-ins, each an event: more than one page of 20.
    for (let index = 0; index < 25; index += 1) {
      const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password } });
      assert.equal(login.statusCode, 200, login.body);
    }
    const watched = await open();
    const { page } = watched;
    await logInFully(page, account);
    await accountSection(page, 'Security events', 'Security events');
    const items = page.getByRole('list', { name: 'Security events' }).getByRole('listitem');
    await items.first().waitFor();
    assert.equal(await items.count(), 20);
    await page.getByRole('button', { name: 'Show older events' }).click();
    // 25 + this login + the account's creation, whatever else the server records: all there
    // now, below the first page, and nothing older to ask for.
    await items.nth(26).waitFor();
    assert.equal(await page.getByRole('button', { name: /older events|Loading/ }).count(), 0);
    assertClean(watched);
    await page.context().close();
  });

  it('TOTP set up from the key on the page, recovery codes shown once and renewed after a step-up with a code, then a login with the app', async () => {
    const account = await createUser(test, { label: 'pages-totp' });
    const watched = await open();
    const { page } = watched;
    await logInFully(page, account);
    await accountSection(page, 'Two-step sign-in', 'Two-step sign-in');
    await snapshot(watched, 'account-two-step');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = page.getByRole('img', { name: /QR code/ });
    await qr.waitFor();
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/svg\+xml,/);
    // The image loaded: the page's CSP allows it.
    assert.ok(await qr.evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth > 0), 'the QR code is drawn');
    const secret = (await page.locator('.secret').textContent()) ?? '';
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await snapshot(watched, 'account-totp-setup');

    await page.getByLabel('Code from the app').fill('000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await alert(page, 'That code is not correct.').waitFor();
    await page.getByLabel('Code from the app').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await heading2(page, 'Save your recovery codes now');
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    assert.equal(codes.length, 10);
    await snapshot(watched, 'account-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText('On since').waitFor();
    assert.equal(await page.getByRole('list', { name: 'Recovery codes' }).count(), 0, 'the codes are gone from the page');

    // A stale sign-in of an account with a second factor: the dialog asks for a code too.
    passTime(REAUTH_MAX_AGE_SECONDS + 60);
    await page.getByRole('button', { name: 'Make new recovery codes' }).click();
    await page.getByRole('button', { name: 'Make new codes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByLabel('Code from your authenticator app').waitFor();
    await dialog.getByLabel('Your password').fill(account.password);
    await dialog.getByLabel('Code from your authenticator app').fill(totpCode(secret));
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await heading2(page, 'Save your recovery codes now');
    const renewed = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    assert.equal(renewed.length, 10);
    assert.ok(renewed.every((code) => !codes.includes(code)), 'new codes, not the old ones');
    await page.getByRole('button', { name: 'I have saved them' }).click();

    await logOut(page);
    passTime(30);
    await logIn(page, account);
    await heading(page, 'Confirm it is you');
    await page.getByLabel('Code from your authenticator app').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Your account');
    await page.getByText(account.email).waitFor();
    // The first set of codes stopped working when the new one was made.
    const old = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password, recovery_code: codes[0] } });
    assert.notEqual(old.statusCode, 200, old.body);
    assertClean(watched);
    await page.context().close();
  });

  it('a passkey added in the browser (virtual authenticator), renamed, then used to log in without a password and to confirm it is you', async () => {
    const account = await createUser(test, { label: 'pages-passkey' });
    const watched = await open();
    const { page } = watched;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await logInFully(page, account);
    await accountSection(page, 'Two-step sign-in', 'Two-step sign-in');
    await page.getByLabel('Name for the new passkey (optional)').fill('Test key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByRole('status').filter({ hasText: 'The passkey “Test key” was added.' }).waitFor();
    // The first factor comes with recovery codes.
    await heading2(page, 'Save your recovery codes now');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    const passkeys = page.getByRole('list', { name: 'Passkeys' });
    const item = passkeys.getByRole('listitem').filter({ hasText: 'Test key' });
    await item.getByRole('button', { name: 'Rename' }).click();
    await item.getByLabel('New name').fill(XSS);
    await item.getByRole('button', { name: 'Save the name' }).click();
    await passkeys.getByText(XSS, { exact: true }).waitFor();
    assert.equal(await page.locator('img').count(), 0);
    await snapshot(watched, 'account-passkeys');

    await logOut(page);
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    await heading(page, 'Your account');
    await page.getByText(account.email).waitFor();
    await accountSection(page, 'Sessions', 'Your sessions');
    const mine = page.getByRole('list', { name: 'Sessions' }).getByRole('listitem').filter({ has: page.getByText('This session', { exact: true }) });
    await mine.getByText('Passkey', { exact: true }).waitFor();

    // A stale sign-in confirmed with the passkey alone: the removal goes through.
    passTime(REAUTH_MAX_AGE_SECONDS + 60);
    await accountSection(page, 'Two-step sign-in', 'Two-step sign-in');
    const renamed = page.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
    await renamed.getByRole('button', { name: 'Remove' }).click();
    await renamed.getByRole('button', { name: 'Remove it' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByRole('button', { name: 'Use a passkey' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('You have no passkey yet.').waitFor();
    assertClean(watched);
    await page.context().close();
  });

  it('a new user\'s whole journey: register, confirm from the mail, log in, set up an authenticator app, log out, log in with it, end another session, change the password', async () => {
    const watched = await open();
    const { page } = watched;
    const email = uniqueEmail('journey');
    const password = strongPassword();
    await page.goto('/register');
    await heading(page, 'Create your account');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading(page, 'Check your inbox');
    await test.settle();
    await page.goto(linkFromMail(test, email, /confirm|verify/i));
    await heading(page, 'Email confirmed');
    await logInFully(page, { email, password });

    await accountSection(page, 'Two-step sign-in', 'Two-step sign-in');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = (await page.locator('.secret').textContent()) ?? '';
    await page.getByLabel('Code from the app').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await heading2(page, 'Save your recovery codes now');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText('On since').waitFor();

    await logOut(page);
    passTime(30);
    await logIn(page, { email, password });
    await heading(page, 'Confirm it is you');
    await page.getByLabel('Code from your authenticator app').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Your account');

    // Another device signs in (password and code in one request).
    passTime(30);
    const other = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'JourneyPhone/1.0' }, payload: { email, password, code: totpCode(secret) } });
    assert.equal(other.statusCode, 200, other.body);
    await accountSection(page, 'Sessions', 'Your sessions');
    const item = page.getByRole('list', { name: 'Sessions' }).getByRole('listitem').filter({ hasText: 'JourneyPhone/1.0' });
    await item.getByRole('button', { name: 'End this session' }).click();
    await item.getByRole('button', { name: 'End it' }).click();
    await page.getByRole('status').filter({ hasText: 'The session was ended.' }).waitFor();
    const refresh = await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.json<{ refresh_token: string }>().refresh_token } });
    assert.equal(refresh.statusCode, 401, 'the ended session cannot be renewed');

    await accountSection(page, 'Password', 'Change your password');
    const next = strongPassword();
    await page.getByLabel('Current password').fill(password);
    await page.getByLabel('New password').fill(next);
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password was changed' }).waitFor();
    passTime(30);
    const withNew = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: next, code: totpCode(secret) } });
    assert.equal(withNew.statusCode, 200, withNew.body);
    const withOld = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
    assert.equal(withOld.statusCode, 401, 'the old password no longer works');
    await snapshot(watched, 'journey-password-changed');
    assertClean(watched);
    await page.context().close();
  });

  it('an admin without a second factor is sent to set one up, and then reaches the account', async () => {
    const account = await createUser(test, { label: 'pages-admin', roles: ['admin'] });
    const watched = await open();
    const { page } = watched;
    await logIn(page, account);
    await heading(page, 'Your account');
    await alert(page, 'needs a second factor').waitFor();
    await page.getByRole('link', { name: 'Set up a second factor' }).click();
    await heading(page, 'Two-step sign-in');
    await page.getByText('Your role requires a second factor.').waitFor();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = (await page.locator('.secret').textContent()) ?? '';
    await page.getByLabel('Code from the app').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await heading2(page, 'Save your recovery codes now');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await accountSection(page, 'Overview', 'Your account');
    await page.getByText(account.email).waitFor();
    assertClean(watched);
    await page.context().close();
  });
});

/** Every page check (axe, no readable credential, a screenshot), and the page is readable at 360 px: nothing wider than the screen. */
async function snapshot(watched: WatchedPage, name: string): Promise<void> {
  const { page } = watched;
  await checkPage(watched, name);
  const width = await page.evaluate(() => (globalThis as unknown as Globals).document.documentElement.scrollWidth);
  assert.ok(width <= 360, `${name} is ${width} px wide`);
}

async function heading2(page: Page, name: string): Promise<void> {
  await page.getByRole('heading', { level: 2, name }).waitFor({ timeout: 10_000 });
}
