// The data export: the archive holds every category of the caller's data and nothing of
// anyone else's, no secret at all; it is a step-up action, limited to three a day,
// audited; an administrator with users:read answers a subject-access request (audited
// with the administrator as actor); and an account with 10,000 events is exported a page
// at a time, pulled by the reader, never loaded whole.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import { unzip, unzipBytes } from '../../../test/helpers/zip.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { call, createSignedIn, createUser, signIn } from '../../../test/security/authz.fixtures.ts';
import { mfaAppPerSuite } from '../mfa/mfa.fixtures.ts';
import { databaseStore } from '../files/index.ts';
import { png, upload } from '../files/files.fixtures.ts';
import { exportAccount } from './export.ts';

const lines = (text: string | undefined): Record<string, unknown>[] => (text ?? '').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);

async function logInAs(test: Parameters<typeof signIn>[0], account: { email: string; password: string }, userAgent: string): Promise<string> {
  const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': userAgent }, payload: { email: account.email, password: account.password } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<{ access_token: string }>().access_token;
}

/** Counts the rows each query answers, to show the export reads a page at a time. */
function rowCounter(): KyselyPlugin & { readonly counts: number[] } {
  const counts: number[] = [];
  return {
    counts,
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => args.node,
    transformResult: (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
      counts.push(args.result.rows.length);
      return Promise.resolve(args.result);
    },
  };
}

for (const engine of testEngines()) {
  describe(`data export on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine);

    it('holds every category of the caller\'s data, nothing of another user, and no secret; audited; shown among their events', async () => {
      const { test } = suite;
      const alice = await createUser(test, { label: 'export-alice', name: 'Alice Export' });
      const bob = await createUser(test, { label: 'export-bob', name: 'Bob Export' });
      const aliceToken = await logInAs(test, alice, 'alice-browser/1.0');
      await logInAs(test, alice, 'alice-phone/2.0');
      const bobToken = await logInAs(test, bob, 'bob-browser/9.9');
      const enrolled = await enrolTotp(test, aliceToken, suite.time.clock());
      await enrolTotp(test, bobToken, suite.time.clock());
      // Bob acts on nothing of Alice's, but shares the database with her.

      const response = await test.app.inject({ method: 'GET', url: '/v1/me/export', headers: { authorization: `Bearer ${aliceToken}` } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['content-type'], 'application/zip');
      assert.match(String(response.headers['content-disposition']), /^attachment; filename="gatehouse-export-\d{4}-\d{2}-\d{2}\.zip"$/);
      const files = await unzip(response.rawPayload);
      assert.deepEqual([...files.keys()], ['README.txt', 'profile.json', 'second-factors.json', 'sessions.ndjson', 'security-events.ndjson', 'files.json', 'manifest.json']);

      const profile = JSON.parse(files.get('profile.json') ?? '') as Record<string, unknown>;
      assert.equal(profile['schema_version'], 1);
      assert.equal(profile['id'], alice.id);
      assert.equal(profile['email'], alice.email);
      assert.equal(profile['name'], 'Alice Export');
      assert.equal(profile['has_password'], true);
      const factors = JSON.parse(files.get('second-factors.json') ?? '') as { authenticator_app: { confirmed_at: string | null } | null; recovery_codes: { issued: number; remaining: number } };
      assert.ok(factors.authenticator_app?.confirmed_at !== null && factors.authenticator_app !== null);
      assert.deepEqual({ issued: factors.recovery_codes.issued, remaining: factors.recovery_codes.remaining }, { issued: 10, remaining: 10 });
      const sessions = lines(files.get('sessions.ndjson'));
      assert.deepEqual(sessions.map((session) => session['user_agent']).sort(), ['alice-browser/1.0', 'alice-phone/2.0']);
      const events = lines(files.get('security-events.ndjson'));
      const actions = events.map((event) => event['action']);
      for (const action of ['user.created', 'auth.login_succeeded', 'mfa.totp_enabled']) assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
      const manifest = JSON.parse(files.get('manifest.json') ?? '') as { files: Record<string, number>; user_id: string };
      assert.equal(manifest.user_id, alice.id);
      assert.deepEqual(manifest.files, { 'profile.json': 1, 'second-factors.json': 1, 'sessions.ndjson': 2, 'security-events.ndjson': events.length, 'files.json': 1, 'files/': 0 });

      // Nothing of Bob's, and no secret of Alice's, anywhere in the archive.
      const everything = [...files.values()].join('\n');
      for (const foreign of [bob.id, bob.email, 'Bob Export', 'bob-browser/9.9']) assert.equal(everything.includes(foreign), false, `the archive names ${foreign}`);
      for (const secret of [enrolled.secret.base32, ...enrolled.recoveryCodes, '$argon2', alice.password, aliceToken]) assert.equal(everything.includes(secret), false, 'a secret is in the archive');

      const record = await test.services.auth.db.selectFrom('audit_events').select(['actor_id', 'details']).where('action', '=', 'user.exported').where('target_id', '=', alice.id).executeTakeFirstOrThrow();
      assert.deepEqual(record, { actor_id: alice.id, details: { by: 'self' } });
      const own = await call(test, 'GET', '/v1/me/events', { token: aliceToken });
      assert.ok(own.json<{ events: { action: string }[] }>().events.some((event) => event.action === 'user.exported'), 'the export shows among the owner\'s security events');
    });

    it('holds the account\'s uploaded files, decrypted, each read only when the archive reaches it', async () => {
      const { test } = suite;
      const owner = await createUser(test, { label: 'export-files' });
      const other = await createUser(test, { label: 'export-files-other' });
      const token = (await signIn(test, owner)).access_token;
      const otherToken = (await signIn(test, other)).access_token;
      const note = Buffer.from('my own words\n');
      const uploaded = await upload(test, token, { filename: '../../evil/notes.txt', type: 'text/plain' }, note);
      assert.equal(uploaded.status, 201);
      const noteId = uploaded.json<{ id: string }>().id;
      const avatarId = (await upload(test, token, { filename: 'me.png', type: 'image/png' }, await png(), { url: '/v1/me/avatar', method: 'PUT' })).json<{ id: string }>().id;
      await upload(test, otherToken, { filename: 'theirs.txt', type: 'text/plain' }, Buffer.from('not yours'));

      const counter = rowCounter();
      const auth = test.services.auth;
      const archive = await exportAccount({ db: auth.db.withPlugin(counter), keyring: auth.keyring, clock: auth.clock, fileStore: databaseStore() }, owner.id);
      assert.ok(archive !== null);
      const readBefore = counter.counts.length;
      const chunks: Buffer[] = [];
      for await (const chunk of archive) chunks.push(chunk as Buffer);
      assert.ok(counter.counts.length >= readBefore + 2, 'each file is read by queries of its own, after the archive started');
      const files = await unzipBytes(Buffer.concat(chunks));
      assert.deepEqual(files.get(`files/${noteId}.txt`), note);
      assert.ok(files.has(`files/${avatarId}.png`));
      assert.equal([...files.keys()].filter((name) => name.startsWith('files/')).length, 2, 'nobody else\'s file');
      const listing = JSON.parse(files.get('files.json')?.toString('utf8') ?? '') as { files: { id: string; name: string; path: string }[] };
      assert.deepEqual(listing.files.map((file) => [file.name, file.path]).sort(), [['me.png', `files/${avatarId}.png`], ['notes.txt', `files/${noteId}.txt`]]);
      const manifest = JSON.parse(files.get('manifest.json')?.toString('utf8') ?? '') as { files: Record<string, number> };
      assert.equal(manifest.files['files/'], 2);
    });

    it('needs a recent authentication and allows three archives a day', async () => {
      const { test } = suite;
      const carol = await createUser(test, { label: 'export-carol' });
      const token = (await signIn(test, carol)).access_token;
      suite.time.advanceSeconds(601);
      const stale = await call(test, 'GET', '/v1/me/export', { token });
      assert.equal(stale.status, 401, stale.body);
      assert.equal(stale.code, 'reauthentication_required');
      const again = await call(test, 'POST', '/v1/auth/reauthenticate', { token, body: { password: carol.password } });
      assert.equal(again.status, 200, again.body);
      const statuses: number[] = [];
      for (let n = 0; n < 4; n += 1) statuses.push((await call(test, 'GET', '/v1/me/export', { token })).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const exported = await test.services.auth.db.selectFrom('audit_events').select('id').where('action', '=', 'user.exported').where('target_id', '=', carol.id).execute();
      assert.equal(exported.length, 3, 'a refused request exports nothing and records nothing');
    });

    it('an administrator with users:read exports a user\'s data, audited as the actor; others are refused', async () => {
      const { test } = suite;
      const admin = await createSignedIn(test, { roles: ['admin'], label: 'export-admin' });
      const subject = await createUser(test, { label: 'export-subject' });
      const plain = await createSignedIn(test, { label: 'export-plain' });
      const answer = await call(test, 'GET', `/v1/admin/users/${subject.id}/export`, { token: admin.tokens.access_token });
      assert.equal(answer.status, 200, answer.body);
      const record = await test.services.auth.db.selectFrom('audit_events').select(['actor_id', 'details']).where('action', '=', 'user.exported').where('target_id', '=', subject.id).executeTakeFirstOrThrow();
      assert.deepEqual(record, { actor_id: admin.id, details: { by: 'administrator' } });
      assert.equal((await call(test, 'GET', `/v1/admin/users/${subject.id}/export`, { token: plain.tokens.access_token })).code, 'forbidden');
      assert.equal((await call(test, 'GET', '/v1/admin/users/00000000-0000-4000-8000-000000000000/export', { token: admin.tokens.access_token })).code, 'not_found');
      // Support reads users, but never copies out an account holding permissions it lacks.
      const support = await createSignedIn(test, { roles: ['support'], label: 'export-support' });
      assert.equal((await call(test, 'GET', `/v1/admin/users/${subject.id}/export`, { token: support.tokens.access_token })).status, 200);
      assert.equal((await call(test, 'GET', `/v1/admin/users/${admin.id}/export`, { token: support.tokens.access_token })).code, 'forbidden');
    });

    it('reads an account with 10,000 events a page at a time, as the reader pulls', async () => {
      const { test } = suite;
      const auth = test.services.auth;
      const heavy = await createUser(test, { label: 'export-heavy' });
      await auth.change({ ip: '192.0.2.1', userAgent: 'bulk', requestId: null }, ({ audit }) => {
        for (let n = 0; n < 10_000; n += 1) audit({ actor: { type: 'system' }, action: 'test.bulk', target: { type: 'user', id: heavy.id }, outcome: 'success' });
        return Promise.resolve();
      });
      const counter = rowCounter();
      const archive = await exportAccount({ db: auth.db.withPlugin(counter), keyring: auth.keyring, clock: auth.clock, fileStore: databaseStore() }, heavy.id);
      assert.ok(archive !== null);
      // The first chunk (README, profile, factors, the start of the streams) reads little.
      const chunks: Buffer[] = [];
      const ended = new Promise((resolve, reject) => {
        archive.on('end', resolve);
        archive.on('error', reject);
      });
      await new Promise<void>((resolve) => {
        archive.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (chunks.length === 1) {
            archive.pause();
            resolve();
          }
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const readEarly = counter.counts.reduce((sum, count) => sum + count, 0);
      assert.ok(readEarly < 10_000, `read ${readEarly} rows before the reader asked for them`);
      archive.resume();
      await ended;
      assert.ok(Math.max(...counter.counts) <= 500, `a query answered ${Math.max(...counter.counts)} rows`);
      const files = await unzip(Buffer.concat(chunks));
      const events = lines(files.get('security-events.ndjson'));
      assert.equal(events.filter((event) => event['action'] === 'test.bulk').length, 10_000);
      assert.equal((JSON.parse(files.get('manifest.json') ?? '') as { files: Record<string, number> }).files['security-events.ndjson'], events.length);
    });
  });
}
