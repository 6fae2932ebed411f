// A real browser for the web app's tests: Debian's Chromium driven by playwright-core
// (never a downloaded browser), a page that records every CSP violation (Trusted Types
// included), uncaught error and console error, so a test can require there were none, and
// the checks every page gets: axe finds no serious or critical accessibility violation,
// nothing a script can read holds a credential, and a screenshot for a reviewer.
import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TestApp } from './app.ts';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    assert.fail(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface WatchedPage {
  readonly page: Page;
  /** `securitypolicyviolation` events: the directive and the blocked URI. */
  readonly violations: string[];
  /** Uncaught errors and console errors. */
  readonly errors: string[];
  /** Requests that left the app's origin. */
  readonly foreignRequests: string[];
}

/**
 * What the functions run inside the page use of its globals (this project's TypeScript has
 * no DOM library): they are serialized and run in the browser, where globalThis is window.
 */
export interface PageGlobals {
  readonly document: {
    readonly cookie: string;
    addEventListener(type: 'securitypolicyviolation', listener: (event: { effectiveDirective: string; blockedURI: string; sourceFile: string; lineNumber: number }) => void): void;
  };
  readonly localStorage: { readonly length: number };
  readonly sessionStorage: { readonly length: number };
  readonly reportCSPViolation?: (text: string) => void;
}

export async function openWatchedPage(browser: Browser, baseURL: string): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL, viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  const violations: string[] = [];
  const errors: string[] = [];
  const foreignRequests: string[] = [];
  // A binding (CDP, not a script of the page) and a listener the browser installs before
  // any of the page's scripts, on every navigation: the page's CSP applies to neither.
  await page.exposeFunction('reportCSPViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    const page = globalThis as unknown as PageGlobals;
    page.document.addEventListener('securitypolicyviolation', (event) => {
      page.reportCSPViolation?.(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'} at ${event.sourceFile}:${event.lineNumber}`);
    });
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    // An object URL of this origin (the avatar) holds bytes the page already has.
    if (!url.startsWith(baseURL) && !url.startsWith('data:') && !url.startsWith(`blob:${baseURL}/`)) foreignRequests.push(url);
  });
  return { page, violations, errors, foreignRequests };
}

/** The page's h1 (every page has one; it names the page). */
export async function heading(page: Page, name: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 10_000 });
}

/** Fills the login form with the account's password and sends it ("Log in" exactly: "Log in with a passkey" holds the words too). */
export async function logIn(page: Page, account: { readonly email: string; readonly password: string }): Promise<void> {
  await page.goto('/login');
  await heading(page, 'Log in');
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

/** Logs in an account without a second factor and waits for the account overview that names it. */
export async function logInFully(page: Page, account: { readonly email: string; readonly password: string }): Promise<void> {
  await logIn(page, account);
  await heading(page, 'Your account');
  await page.getByText(account.email).waitFor();
}

/** Goes to an account page by its sub-navigation link and waits for its heading. */
export async function accountSection(page: Page, link: string, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Your account' }).getByRole('link', { name: link }).click();
  await heading(page, title);
}

/** The link of the latest mail to `to` whose subject matches, as a path on the test server. */
export function linkFromMail(test: TestApp, to: string, subject: RegExp): string {
  const mail = test.mails.filter((candidate) => candidate.to === to && subject.test(candidate.subject)).at(-1);
  const url = mail === undefined ? undefined : /https?:\/\/\S+#token=[\w-]+/.exec(mail.text)?.[0];
  assert.ok(url !== undefined, `no mail with a link to ${to}`);
  const parsed = new URL(url);
  return parsed.pathname + parsed.hash;
}

// For a reviewer to look at the pages (git-ignored): one PNG per page, at the page's width.
const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');

export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = name.replace(/^\//, '').replace(/[^a-z0-9-]+/gi, '-') || 'home';
  await page.screenshot({ path: join(SCREENSHOTS, `${file}.png`), fullPage: true });
}

/** Nothing a script could read holds a credential. */
export async function assertNoReadableTokens(page: Page): Promise<void> {
  const stored = await page.evaluate(() => {
    const { localStorage, sessionStorage, document } = globalThis as unknown as PageGlobals;
    return { local: localStorage.length, session: sessionStorage.length, cookie: document.cookie };
  });
  // The only cookie a script may see is the CSRF token (docs/browser-sessions.md); the
  // session, refresh and device cookies are httpOnly.
  const readable = stored.cookie === '' ? [] : stored.cookie.split('; ').map((pair) => pair.split('=')[0]);
  assert.deepEqual({ local: stored.local, session: stored.session }, { local: 0, session: 0 });
  assert.ok(readable.every((name) => name === '__Host-gh_csrf'), `readable cookies: ${readable.join(', ')}`);
}

// Chromium logs each non-2xx fetch as a console error; the tests provoke some on purpose.
const EXPECTED_CONSOLE = /Failed to load resource: the server responded with a status of 4\d\d/;

/** No CSP violation, no error in the page, no request leaving the origin, so far. */
export function assertClean(watched: WatchedPage): void {
  assert.deepEqual(watched.violations, [], 'CSP violations');
  assert.deepEqual(watched.errors.filter((error) => !EXPECTED_CONSOLE.test(error)), [], 'errors in the page');
  assert.deepEqual(watched.foreignRequests, [], 'requests leaving the origin');
}

/**
 * axe-core (WCAG 2.1 A and AA rules and best practices) finds no serious or critical
 * violation on the page as it is now. axe runs through the DevTools protocol, which the
 * page's CSP does not govern, so the page's own violation record stays meaningful.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  assert.deepEqual(
    serious.map((violation) => `${violation.impact} ${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join('; ')})`),
    [],
    `accessibility of ${what}`,
  );
}

/** Every check a page gets once it shows: accessibility, no readable credential, a screenshot. */
export async function checkPage(watched: WatchedPage, name: string): Promise<void> {
  await assertAccessible(watched.page, name);
  await assertNoReadableTokens(watched.page);
  await saveScreenshot(watched.page, name);
}
