// Files on an account: upload, list, download and delete round-trip; stored encrypted
// (neither the content nor the name is in the database in clear); an avatar replaces the
// previous one and is a square; an administrator with users:read lists and downloads a
// user's files, each access audited and shown among the owner's events; deleting the
// account takes its files and shreds the key they were encrypted under.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UUID_PATTERN } from '../../core/crypto/ids.ts';
import sharp from 'sharp';
import { testEngines } from '../../../test/helpers/database.ts';
import { unzipBytes } from '../../../test/helpers/zip.ts';
import { call, createSignedIn, createUser, signIn } from '../../../test/security/authz.fixtures.ts';
import { mfaAppPerSuite } from '../mfa/mfa.fixtures.ts';
import { get, MINIMAL_PDF, png, upload } from './files.fixtures.ts';

for (const engine of testEngines()) {
  describe(`files on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, { ACCOUNT_DELETION_GRACE_DAYS: '0' });

    it('uploads, lists newest first, downloads byte for byte and deletes; the database holds neither content nor name in clear', async () => {
      const { test } = suite;
      const user = await createUser(test, { label: 'files-owner' });
      const token = (await signIn(test, user)).access_token;
      const text = Buffer.from('Meeting notes: the launch code is 0000.\n');
      const first = await upload(test, token, { filename: 'notes.txt', type: 'text/plain; charset=utf-8' }, text);
      assert.equal(first.status, 201, first.body.toString());
      const note = first.json<{ id: string; name: string; media_type: string; size_bytes: number; purpose: string }>();
      assert.deepEqual({ name: note.name, media_type: note.media_type, size_bytes: note.size_bytes, purpose: note.purpose }, { name: 'notes.txt', media_type: 'text/plain', size_bytes: text.length, purpose: 'file' });
      suite.time.advanceSeconds(1);
      const pdf = (await upload(test, token, { filename: 'contract.pdf', type: 'application/pdf' }, MINIMAL_PDF)).json<{ id: string }>();

      const answer = (await get(test, token, '/v1/me/files')).json<{ files: { id: string }[]; quota_bytes: number; max_file_bytes: number }>();
      assert.deepEqual([answer.quota_bytes, answer.max_file_bytes], [50 * 1024 * 1024, 5 * 1024 * 1024], 'the limits, for the page to show');
      const listed = answer.files.map((file) => file.id);
      assert.deepEqual(listed, [pdf.id, note.id]);
      assert.deepEqual((await get(test, token, `/v1/me/files/${note.id}`)).body, text);
      assert.deepEqual((await get(test, token, `/v1/me/files/${pdf.id}`)).body, MINIMAL_PDF, 'a PDF is stored as sent');

      const rows = await test.services.auth.db.selectFrom('user_files').select(['content', 'name_ciphertext']).where('user_id', '=', user.id).execute();
      assert.equal(rows.length, 2);
      for (const row of rows) {
        const stored = Buffer.from(row.content);
        assert.equal(stored.includes(Buffer.from('launch code')) || stored.includes(Buffer.from('%PDF')), false, 'content in clear');
        assert.equal(row.name_ciphertext.includes('notes') || row.name_ciphertext.includes('contract'), false, 'name in clear');
      }

      assert.equal((await get(test, token, `/v1/me/files/${note.id}`, 'DELETE')).status, 204);
      assert.equal((await get(test, token, `/v1/me/files/${note.id}`)).status, 404);
      assert.equal((await get(test, token, `/v1/me/files/${note.id}`, 'DELETE')).status, 404);
      const actions = (await call(test, 'GET', '/v1/me/events', { token })).json<{ events: { action: string }[] }>().events.map((event) => event.action);
      assert.ok(actions.includes('file.uploaded') && actions.includes('file.deleted'), actions.join(', '));
    });

    it('an avatar is an image cropped to a square, and a new one replaces the old', async () => {
      const { test } = suite;
      const user = await createUser(test, { label: 'files-avatar' });
      const token = (await signIn(test, user)).access_token;
      assert.equal((await get(test, token, '/v1/me/avatar')).status, 404);
      const pdf = await upload(test, token, { filename: 'me.pdf', type: 'application/pdf' }, MINIMAL_PDF, { url: '/v1/me/avatar', method: 'PUT' });
      assert.equal(pdf.code, 'file_type_not_allowed');
      const first = await upload(test, token, { filename: 'me.png', type: 'image/png' }, await png(800, 600), { url: '/v1/me/avatar', method: 'PUT' });
      assert.equal(first.status, 200, first.body.toString());
      const second = await upload(test, token, { filename: 'me2.png', type: 'image/png' }, await png(300, 900), { url: '/v1/me/avatar', method: 'PUT' });
      assert.equal(second.status, 200);
      const avatar = await get(test, token, '/v1/me/avatar');
      const metadata = await sharp(avatar.body).metadata();
      assert.deepEqual([metadata.width, metadata.height], [512, 512]);
      const files = (await get(test, token, '/v1/me/files')).json<{ files: { id: string; purpose: string }[] }>().files;
      assert.deepEqual(files.map((file) => [file.id, file.purpose]), [[second.json<{ id: string }>().id, 'avatar']]);
    });

    it('an administrator with users:read lists and downloads a user\'s files, audited and shown to the user; others are refused', async () => {
      const { test } = suite;
      const admin = await createSignedIn(test, { roles: ['admin'], label: 'files-admin' });
      const subject = await createUser(test, { label: 'files-subject' });
      const subjectToken = (await signIn(test, subject)).access_token;
      const plain = await createSignedIn(test, { label: 'files-plain' });
      const id = (await upload(test, subjectToken, { filename: 'id-card.png', type: 'image/png' }, await png())).json<{ id: string }>().id;

      const list = await call(test, 'GET', `/v1/admin/users/${subject.id}/files`, { token: admin.tokens.access_token });
      assert.equal(list.status, 200, list.body);
      assert.deepEqual(list.json<{ files: { id: string }[] }>().files.map((file) => file.id), [id]);
      const download = await get(test, admin.tokens.access_token, `/v1/admin/users/${subject.id}/files/${id}`);
      assert.equal(download.status, 200);
      assert.equal(download.headers['content-type'], 'image/png');
      const records = await test.services.auth.db.selectFrom('audit_events').select(['action', 'actor_id', 'details']).where('target_id', '=', subject.id).where('action', 'in', ['files.listed', 'file.downloaded']).orderBy('seq').execute();
      assert.deepEqual(records, [
        { action: 'files.listed', actor_id: admin.id, details: { by: 'administrator' } },
        { action: 'file.downloaded', actor_id: admin.id, details: { by: 'administrator', file_id: id } },
      ]);
      const seen = (await call(test, 'GET', '/v1/me/events', { token: subjectToken })).json<{ events: { action: string }[] }>().events.map((event) => event.action);
      assert.ok(seen.includes('file.downloaded') && seen.includes('files.listed'));
      assert.equal((await call(test, 'GET', `/v1/admin/users/${subject.id}/files`, { token: plain.tokens.access_token })).code, 'forbidden');
      assert.equal((await get(test, admin.tokens.access_token, `/v1/admin/users/${admin.id}/files/${id}`)).status, 404, 'a file is found only under its owner');
      assert.equal((await call(test, 'GET', '/v1/admin/users/00000000-0000-4000-8000-000000000000/files', { token: admin.tokens.access_token })).code, 'not_found');
      // Support reads users, but not the files of an account holding permissions it lacks.
      const support = await createSignedIn(test, { roles: ['support'], label: 'files-support' });
      assert.equal((await call(test, 'GET', `/v1/admin/users/${subject.id}/files`, { token: support.tokens.access_token })).status, 200);
      assert.equal((await call(test, 'GET', `/v1/admin/users/${admin.id}/files`, { token: support.tokens.access_token })).code, 'forbidden');
    });

    it('deleting the account removes its files and shreds the key they were encrypted under', async () => {
      const { test } = suite;
      const user = await createUser(test, { label: 'files-erased' });
      const token = (await signIn(test, user)).access_token;
      assert.equal((await upload(test, token, { filename: 'diary.txt' }, Buffer.from('dear diary'))).status, 201);
      const erased = await call(test, 'DELETE', '/v1/me', { token });
      assert.equal(erased.status, 204, erased.body);
      const db = test.services.auth.db;
      assert.equal((await db.selectFrom('user_files').select('id').where('user_id', '=', user.id).execute()).length, 0);
      assert.equal(await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', user.id).executeTakeFirst(), undefined);
    });
  });

  describe(`files in FILES_DIR on ${engine.engine}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-files-'));
    const suite = mfaAppPerSuite(engine, { FILES_DIR: dir, UPLOAD_QUOTA_BYTES: '65536', UPLOAD_MAX_BYTES: '65536', ACCOUNT_DELETION_GRACE_DAYS: '0' });
    after(() => { rmSync(dir, { recursive: true, force: true }); });

    /** Every path under FILES_DIR, relative to it. */
    const stored = (): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

    it('keeps each content sealed in a 0600 file named by the owner\'s and the file\'s ids only; deleting removes it', async () => {
      const { test } = suite;
      const user = await createUser(test, { label: 'files-dir' });
      const token = (await signIn(test, user)).access_token;
      const text = Buffer.from('kept on disk, sealed\n');
      const note = (await upload(test, token, { filename: '../../../etc/cron.d/evil.txt', type: 'text/plain' }, text)).json<{ id: string }>();
      const path = join(dir, user.id, note.id);
      assert.deepEqual(stored().filter((entry) => entry.startsWith(user.id)), [user.id, join(user.id, note.id)]);
      for (const entry of stored()) for (const segment of entry.split('/')) assert.match(segment, UUID_PATTERN, 'no client-chosen name on disk');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, user.id)).mode & 0o777, 0o700);
      assert.equal(readFileSync(path).includes(Buffer.from('sealed')), false, 'content in clear on disk');
      const row = await test.services.auth.db.selectFrom('user_files').select('content').where('id', '=', note.id).executeTakeFirstOrThrow();
      assert.equal(row.content.length, 0, 'the row holds no copy');
      assert.deepEqual((await get(test, token, `/v1/me/files/${note.id}`)).body, text);

      const over = await upload(test, token, { filename: 'big.txt', type: 'text/plain' }, Buffer.alloc(65_530, 0x61));
      assert.equal(over.code, 'storage_quota_exceeded');
      assert.deepEqual(readdirSync(join(dir, user.id)), [note.id], 'a refused upload leaves nothing on disk');

      const first = (await upload(test, token, { filename: 'a.png', type: 'image/png' }, await png(), { url: '/v1/me/avatar', method: 'PUT' })).json<{ id: string }>();
      const second = (await upload(test, token, { filename: 'b.png', type: 'image/png' }, await png(), { url: '/v1/me/avatar', method: 'PUT' })).json<{ id: string }>();
      assert.deepEqual(readdirSync(join(dir, user.id)).sort(), [note.id, second.id].sort(), `the replaced avatar ${first.id} is removed`);

      assert.equal((await get(test, token, `/v1/me/files/${note.id}`, 'DELETE')).status, 204);
      assert.deepEqual(readdirSync(join(dir, user.id)), [second.id]);
    });

    it('purge-orphan-files removes an erased account\'s folder, and a content no row points at once a day old', async () => {
      const { test } = suite;
      const erased = await createUser(test, { label: 'files-dir-erased' });
      const erasedToken = (await signIn(test, erased)).access_token;
      assert.equal((await upload(test, erasedToken, { filename: 'x.txt', type: 'text/plain' }, Buffer.from('gone soon'))).status, 201);
      const kept = await createUser(test, { label: 'files-dir-kept' });
      const keptToken = (await signIn(test, kept)).access_token;
      const keptFile = (await upload(test, keptToken, { filename: 'y.txt', type: 'text/plain' }, Buffer.from('stays'))).json<{ id: string }>().id;
      assert.equal((await call(test, 'DELETE', '/v1/me', { token: erasedToken })).status, 204);
      assert.ok(existsSync(join(dir, erased.id)), 'erasure alone leaves the (now unreadable) folder');
      const stale = join(dir, kept.id, '00000000-0000-4000-8000-000000000001');
      const fresh = join(dir, kept.id, '00000000-0000-4000-8000-000000000002');
      writeFileSync(stale, 'never committed');
      writeFileSync(fresh, 'an upload in flight');
      const dayAgo = new Date(Date.now() - 2 * 86_400_000);
      utimesSync(stale, dayAgo, dayAgo);

      const removed = await test.services.scheduler.runNow('purge-orphan-files');
      assert.ok(removed !== null && removed >= 2, String(removed));
      assert.equal(existsSync(join(dir, erased.id)), false);
      assert.deepEqual(readdirSync(join(dir, kept.id)).sort(), [fresh.slice(-36), keptFile].sort());
      assert.equal((await get(test, keptToken, `/v1/me/files/${keptFile}`)).body.toString(), 'stays');
    });

    it('the data export reads the files from the directory', async () => {
      const { test } = suite;
      const user = await createUser(test, { label: 'files-dir-export' });
      const token = (await signIn(test, user)).access_token;
      assert.equal((await upload(test, token, { filename: 'n.txt', type: 'text/plain' }, Buffer.from('exported from disk'))).status, 201);
      const id = (await get(test, token, '/v1/me/files')).json<{ files: { id: string }[] }>().files[0]?.id;
      const archive = await get(test, token, '/v1/me/export');
      assert.equal(archive.status, 200);
      const entries = await unzipBytes(archive.body);
      assert.equal(entries.get(`files/${String(id)}.txt`)?.toString('utf8'), 'exported from disk');
    });
  });
}
