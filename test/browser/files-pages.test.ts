// "Your files" and the avatar in Chromium, against a real server: a user uploads a PNG made
// here, sees it listed, downloads it (the bytes are a PNG), uploads one whose name is an
// HTML payload (shown as text, never markup), is told why an HTML page named .png is
// refused (keeping the chosen file), and deletes a file; on the overview they set a
// picture and see it load from an object URL, which is revoked once the page is left. On
// every page: zero CSP violations, no uncaught error, no request leaving the origin, the
// page checks of helpers/browser.ts and a screenshot.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { png } from '../../src/features/files/files.fixtures.ts';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';
import { accountSection, assertClean, checkPage, heading, launchChromium, logInFully, openWatchedPage, type WatchedPage } from '../helpers/browser.ts';
import { freePort } from '../helpers/server-process.ts';
import { call, createUser, GENEROUS_LIMITS, signIn, type Account } from '../security/authz.fixtures.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Unquoted: a browser's multipart encoding writes `"` in a file name as `%22` (HTML spec).
const XSS_NAME = '<img src=x onerror=window.pwned=1>.png';

describe('"Your files" and the avatar in Chromium', () => {
  let test: TestApp;
  let browser: Browser;
  let origin: string;

  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    test = await startTestApp({ listen: true, port, webApp: await builtWebApp(), env: { ...GENEROUS_LIMITS, PUBLIC_URL: origin } });
    browser = await launchChromium();
  });
  // A failed start must not leave the server running (the run would never end).
  after(async () => {
    await (browser as Browser | undefined)?.close();
    await (test as TestApp | undefined)?.close();
  });

  /** A new user, logged in, on the overview. */
  async function loggedIn(label: string): Promise<{ readonly account: Account; readonly watched: WatchedPage; readonly page: Page }> {
    const account = await createUser(test, { label });
    const watched = await openWatchedPage(browser, origin);
    await logInFully(watched.page, account);
    return { account, watched, page: watched.page };
  }

  /** The names of the account's files, as the server lists them. */
  async function storedNames(account: Account): Promise<string[]> {
    const tokens = await signIn(test, account);
    const answer = await call(test, 'GET', '/v1/me/files', { token: tokens.access_token });
    assert.equal(answer.status, 200, answer.body);
    return answer.json<{ files: { name: string }[] }>().files.map((file) => file.name);
  }

  async function upload(page: Page, file: { readonly name: string; readonly mimeType: string; readonly buffer: Buffer }): Promise<void> {
    await page.getByLabel('File', { exact: true }).setInputFiles(file);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
  }

  /** The avatar's <img> has loaded a picture (a broken image has no natural width). */
  async function pictureLoaded(page: Page): Promise<void> {
    await page.waitForFunction(() => {
      const { document } = globalThis as unknown as { document: { querySelector(selector: string): { complete: boolean; naturalWidth: number } | null } };
      const image = document.querySelector('img.avatar');
      return image !== null && image.complete && image.naturalWidth > 0;
    });
  }

  it('uploads a PNG, downloads it, shows a hostile name as text, explains a refused type, and deletes a file', async () => {
    const { account, watched, page } = await loggedIn('files-page');
    await accountSection(page, 'Your files', 'Your files');
    await page.getByText('You have no files yet.').waitFor();
    await checkPage(watched, 'files-empty');

    await upload(page, { name: 'red.png', mimeType: 'image/png', buffer: await png() });
    await page.getByRole('status').filter({ hasText: 'Your file was uploaded.' }).waitFor();
    const files = page.getByRole('list', { name: 'Files' });
    const red = files.getByRole('listitem').filter({ hasText: 'red.png' });
    await red.getByText('PNG image').waitFor();
    assert.match((await red.innerText()).replace(/\s+/g, ' '), /red\.png.*Size \d+(\.\d)? (bytes|KB).*Uploaded \S/);
    await page.getByText('1 file,').waitFor();
    // The storage limits come from the server (UPLOAD_QUOTA_BYTES and UPLOAD_MAX_BYTES, the defaults here).
    await page.getByText(/of 50 MB used; 5 MB at most a file\./).waitFor();
    await checkPage(watched, 'files-one');

    // Downloaded through the api client and saved from a blob: the re-encoded PNG.
    const downloading = page.waitForEvent('download');
    await red.getByRole('button', { name: 'Download red.png' }).click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'red.png');
    const bytes = await readFile(await download.path());
    assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), `downloaded ${bytes.subarray(0, 16).toString('hex')}`);

    // A name that is markup shows as the characters it is made of.
    await upload(page, { name: XSS_NAME, mimeType: 'image/png', buffer: await png(8, 8) });
    await page.getByText('2 files,').waitFor();
    await files.getByText(XSS_NAME, { exact: true }).waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'the name was rendered as markup');
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned), undefined);
    await checkPage(watched, 'files-hostile-name');

    // An HTML page named .png is refused by its content, with the server's reason; the file stays chosen.
    await upload(page, { name: 'page.png', mimeType: 'image/png', buffer: Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>\n') });
    const refusal = page.getByRole('alert');
    await refusal.filter({ hasText: /This type of file is not accepted|This file's content does not match its name or type/ }).waitFor();
    assert.equal(await page.getByLabel('File', { exact: true }).evaluate((input: { files: { length: number } | null }) => input.files?.length ?? 0), 1, 'the chosen file was kept');
    await checkPage(watched, 'files-refused');
    assert.deepEqual((await storedNames(account)).sort(), [XSS_NAME, 'red.png'].sort());

    // Deleting asks first, then the file is gone here and on the server.
    await red.getByRole('button', { name: 'Delete red.png' }).click();
    const question = page.getByRole('group', { name: 'Delete red.png' });
    await question.getByText('It cannot be recovered.').waitFor();
    await checkPage(watched, 'files-delete-question');
    await question.getByRole('button', { name: 'Yes, delete it' }).click();
    await page.getByRole('status').filter({ hasText: 'The file was deleted.' }).waitFor();
    await page.getByText('1 file,').waitFor();
    assert.equal(await files.getByText('red.png', { exact: true }).count(), 0);
    assert.deepEqual(await storedNames(account), [XSS_NAME]);
    await checkPage(watched, 'files-deleted');
    assertClean(watched);
    await page.context().close();
  });

  it('sets a picture on the overview and sees it load from an object URL, revoked once the page is left', async () => {
    const { watched, page } = await loggedIn('files-avatar');
    await page.getByText('You have no picture yet.').waitFor();
    await checkPage(watched, 'avatar-none');

    await page.getByLabel('New picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await png(64, 40) });
    await page.getByRole('button', { name: 'Change picture' }).click();
    await page.getByRole('status').filter({ hasText: 'Your picture was changed.' }).waitFor();
    const picture = page.getByRole('img', { name: 'Your picture' });
    await picture.waitFor();
    await pictureLoaded(page);
    const size = await picture.evaluate((image: { naturalWidth: number; naturalHeight: number }) => [image.naturalWidth, image.naturalHeight]);
    assert.equal(size[0], size[1], `the avatar is cropped to a square: ${size.join(' x ')}`);
    const src = await picture.getAttribute('src');
    assert.ok(src?.startsWith(`blob:${origin}/`), `src ${String(src)}`);
    await checkPage(watched, 'avatar-set');

    // Shown again after a reload, from the server's copy.
    await page.reload();
    await heading(page, 'Your account');
    await page.getByRole('img', { name: 'Your picture' }).waitFor();
    await pictureLoaded(page);
    const shown = await page.getByRole('img', { name: 'Your picture' }).getAttribute('src');
    assert.ok(shown !== null);

    // Leaving the overview revokes the URL: an image of it no longer loads.
    await accountSection(page, 'Your files', 'Your files');
    assertClean(watched);
    const errorsBefore = watched.errors.length;
    const loads = await page.evaluate(
      async (url) =>
        new Promise<string>((resolve) => {
          const { Image } = globalThis as unknown as { Image: new () => { src: string; onload: () => void; onerror: () => void } };
          const image = new Image();
          image.onload = () => {
            resolve('loaded');
          };
          image.onerror = () => {
            resolve('failed');
          };
          image.src = url;
        }),
      shown,
    );
    assert.equal(loads, 'failed', 'the object URL was revoked');
    // Chromium reports the revoked URL's failed load, and nothing else happened.
    assert.deepEqual(watched.errors.splice(errorsBefore), ['console: Failed to load resource: net::ERR_FILE_NOT_FOUND']);
    // The avatar is listed among the files, marked as the picture.
    await page.getByRole('list', { name: 'Files' }).getByText('Your picture').waitFor();
    assertClean(watched);
    await page.context().close();
  });
});
