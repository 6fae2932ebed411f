// Uploaded files kept in FILES_DIR are part of the backup: restored into a database that
// keeps files in their rows, or into another FILES_DIR, each downloads as it was uploaded.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { openPGliteClone } from '../../../test/helpers/database.ts';
import { httpClient, strongPassword, uniqueEmail } from '../../../test/helpers/http.ts';
import { logIn, registerVerified } from '../../../test/security/security.fixtures.ts';
import type { Database } from '../../core/db/database.ts';
import { get, upload } from '../files/files.fixtures.ts';
import { generateBackupIdentity, readIdentityFile } from './age.ts';
import { createBackup } from './create.ts';
import { restoreBackupFile } from './operations.ts';

const CONTENT = Buffer.from('a file kept in FILES_DIR, backed up sealed\n', 'utf8');

describe('backups of FILES_DIR', { timeout: 120_000 }, () => {
  let dir: string;
  let source: Database;
  let app: TestApp;
  let backup: string;
  let identity: string;
  const user = { email: uniqueEmail('files'), password: strongPassword() };
  let fileId: string;
  let userId: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-backup-files-'));
    source = await openPGliteClone();
    app = await startTestApp({ database: source, listen: true, env: { FILES_DIR: join(dir, 'source-files'), AUTH_RATE_LIMIT_MAX: '1000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '1000' } });
    const client = { ...app, client: httpClient(app.baseURL) };
    await registerVerified(client, user.email, user.password);
    const tokens = await logIn(client, user.email, user.password);
    const uploaded = await upload(app, tokens.access_token, { filename: 'note.txt', type: 'text/plain' }, CONTENT);
    assert.equal(uploaded.status, 201, uploaded.body.toString());
    fileId = String(uploaded.json()['id']);
    userId = (await source.db.selectFrom('user_files').select('user_id').where('id', '=', fileId).executeTakeFirstOrThrow()).user_id;
    const { identity: secret, recipient } = await generateBackupIdentity();
    identity = join(dir, 'identity.txt');
    await writeFile(identity, `${secret}\n`, { mode: 0o600 });
    backup = join(dir, 'files.age');
    const manifest = await createBackup(source, { recipients: [recipient], out: backup, filesDir: join(dir, 'source-files'), now: new Date(), keyring: app.keyring });
    assert.equal(manifest.files, 1);
  });

  after(async () => {
    await app.close();
    await source.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const target of ['rows', 'directory'] as const) {
    it(`restores the content ${target === 'rows' ? 'into its row when the target keeps files in the database' : 'into the target FILES_DIR'}, and it downloads as uploaded`, async () => {
      const database = await openPGliteClone({ migrate: false });
      const filesDir = target === 'rows' ? null : join(dir, 'target-files');
      try {
        const report = await restoreBackupFile(database, backup, await readIdentityFile(identity), app.keyring, { filesDir, ledgerFiles: [] });
        assert.equal(report.trailer.files, 1);
        if (filesDir !== null) assert.deepEqual(await readFile(join(filesDir, userId, fileId)), await readFile(join(dir, 'source-files', userId, fileId)));
        const restored = await startTestApp({ database, listen: true, env: filesDir === null ? {} : { FILES_DIR: filesDir } });
        try {
          const tokens = await logIn({ ...restored, client: httpClient(restored.baseURL) }, user.email, user.password);
          const download = await get(restored, tokens.access_token, `/v1/me/files/${fileId}`);
          assert.equal(download.status, 200);
          assert.deepEqual(download.body, CONTENT);
        } finally {
          await restored.close();
        }
      } finally {
        await database.close();
      }
    });
  }
});
