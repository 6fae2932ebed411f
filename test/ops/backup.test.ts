// Encrypted backup and restore end to end, on PGlite and on PostgreSQL: a backup of a
// database with real accounts and audit records, verified in a scratch database and
// restored into an empty one, where the accounts log in again and the audit chain
// verifies; a user erased after the backup was taken stays erased after restoring it
// (the ledger of the newer backup is re-applied); and every damaged input is refused
// with a clear error: one flipped byte, a cut file, the wrong identity, a database that
// is not empty.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createDataKey } from '../../src/core/crypto/envelope.ts';
import { getOrCreateSystemKey } from '../../src/core/crypto/system-keys.ts';
import { eraseAccount, loadEmail } from '../../src/features/users/index.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { rewrapAll } from '../../src/core/crypto/rotate.ts';
import {
  BackupError,
  backupFileName,
  createBackup,
  generateBackupIdentity,
  readIdentityFile,
  restoreBackupFile,
  restoredChecksPass,
  verifyBackupFile,
} from '../../src/features/backup/index.ts';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { logIn, registerVerified, startAppOn } from '../security/security.fixtures.ts';
import type { EngineApp } from '../helpers/engine-app.ts';

const SYSTEM = { ip: null, userAgent: null, requestId: null };

async function identityFile(dir: string, name: string): Promise<{ path: string; recipient: string }> {
  const { identity, recipient } = await generateBackupIdentity();
  const path = join(dir, name);
  await writeFile(path, `${identity}\n`, { mode: 0o600 });
  return { path, recipient };
}

async function flipByte(from: string, to: string, offset: number): Promise<void> {
  const bytes = await readFile(from);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  await writeFile(to, bytes);
}

for (const engine of testEngines()) {
  describe(`encrypted backups on ${engine.engine}`, { timeout: 240_000 }, () => {
    let dir: string;
    let source: TestDatabase;
    let target: TestDatabase;
    let app: EngineApp;
    let identity: { path: string; recipient: string };
    let first: string;
    let second: string;
    const alice = { email: uniqueEmail('alice'), password: strongPassword() };
    const bob = { email: uniqueEmail('bob'), password: strongPassword() };
    let bobId: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gatehouse-backup-'));
      identity = await identityFile(dir, 'identity.txt');
      source = await engine.open();
      target = await engine.open({ migrate: false });
      app = await startAppOn(source);
      await registerVerified(app, alice.email, alice.password);
      await registerVerified(app, bob.email, bob.password);
      await logIn(app, alice.email, alice.password);
      await logIn(app, bob.email, bob.password);
      const bobRow = await source.database.db.selectFrom('users').select('id').where('email_index', '=', app.services.auth.blindIndex.email(bob.email)).executeTakeFirstOrThrow();
      bobId = bobRow.id;
      first = join(dir, backupFileName(new Date(Date.now() - 60_000)));
      await createBackup(source.database, { recipients: [identity.recipient], out: first, filesDir: null, now: new Date(Date.now() - 60_000), keyring: app.keyring });
      // Bob is erased after the first backup, then a second backup records it in its ledger.
      await app.services.auth.change(SYSTEM, async ({ trx, audit }) => {
        await eraseAccount(trx, { id: bobId, emailIndex: app.services.auth.blindIndex.email(bob.email) }, 'user_deleted', new Date());
        audit({ actor: { type: 'system', id: 'test' }, action: 'user.deleted', target: { type: 'user', id: bobId }, outcome: 'success' });
      });
      second = join(dir, backupFileName(new Date()));
      await createBackup(source.database, { recipients: [identity.recipient], out: second, filesDir: null, now: new Date(), keyring: app.keyring });
    });

    after(async () => {
      await app.close();
      await source.cleanup();
      await target.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it('writes a file that holds nothing in clear, with a manifest naming the audit head', async () => {
      const bytes = await readFile(first);
      assert.match(bytes.subarray(0, 64).toString('latin1'), /^age-encryption\.org\/v1\n/);
      assert.equal(bytes.includes(Buffer.from('audit_events')), false);
      assert.equal(bytes.includes(Buffer.from('wrapped_key')), false);
      const manifest = JSON.parse(await readFile(`${first}.json`, 'utf8')) as Record<string, unknown>;
      const head = await source.database.db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').executeTakeFirstOrThrow();
      assert.equal(manifest['engine'], engine.engine);
      assert.equal((manifest['audit_head'] as { seq: number }).seq < head.seq, true, 'the first backup predates the erasure');
      assert.equal((manifest['tables'] as Record<string, number>)['users'] !== undefined, true);
    });

    it('verifies: restored into a scratch database, every key unwraps and the audit chain verifies to the recorded head', async () => {
      const report = await verifyBackupFile(first, await readIdentityFile(identity.path), app.keyring);
      assert.equal(restoredChecksPass(report.checks), true, JSON.stringify(report.checks));
      assert.equal(report.checks.audit.ok, true);
      assert.equal(report.checks.audit.headMatches, true);
      assert.ok(report.checks.audit.checked >= 4, 'registrations and logins were audited');
      assert.ok(report.trailer.tables['users'] !== undefined && report.trailer.tables['users'] >= 2);
    });

    it('restores into an empty database: accounts log in again, the chain verifies, and the user erased since stays erased', async () => {
      const report = await restoreBackupFile(target.database, first, await readIdentityFile(identity.path), app.keyring, { filesDir: null, ledgerFiles: [] });
      assert.equal(restoredChecksPass(report.checks), true, JSON.stringify(report.checks));
      assert.equal(report.erasuresApplied, 1);
      assert.deepEqual(report.erasureSources, [second]);
      const db = target.database.db;
      assert.equal(await db.selectFrom('users').select('id').where('id', '=', bobId).executeTakeFirst(), undefined);
      assert.equal(await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', bobId).executeTakeFirst(), undefined, "bob's data key is shredded in the restored database");
      const bobAddresses = await db.selectFrom('audit_events').select('seq').where('actor_id', '=', bobId).where('actor_type', '=', 'user').where('outcome', '=', 'success').where('ip', 'is not', null).execute();
      assert.deepEqual(bobAddresses, [], "no address of bob's own records is left");
      assert.ok(await db.selectFrom('shredded_keys').select('owner_id').where('owner_id', '=', bobId).executeTakeFirst(), 'the restored ledger knows the erasure');
      const restored = await startAppOn(target);
      try {
        await logIn(restored, alice.email, alice.password);
        const aliceRow = await db.selectFrom('users').select('id').where('email_index', '=', restored.services.auth.blindIndex.email(alice.email)).executeTakeFirstOrThrow();
        assert.equal(await loadEmail(db, restored.keyring, aliceRow.id), alice.email, "alice's encrypted email reads under the restored key");
        const refused = await restored.client.request('POST', '/v1/auth/login', { body: { email: bob.email, password: bob.password } });
        assert.equal(refused.status, 401);
      } finally {
        await restored.close();
      }
    });

    it('refuses to restore into a database that is not empty, and leaves it as it was', async () => {
      const users = await source.database.db.selectFrom('users').select('id').execute();
      await assert.rejects(
        restoreBackupFile(source.database, first, await readIdentityFile(identity.path), app.keyring, { filesDir: null, ledgerFiles: [] }),
        (error: unknown) => error instanceof BackupError && /not empty/.test(error.message),
      );
      assert.equal((await source.database.db.selectFrom('users').select('id').execute()).length, users.length);
    });

    it('refuses a backup with one byte flipped, a cut backup and the wrong identity, each with a clear error', async () => {
      const decrypter = await readIdentityFile(identity.path);
      const flippedWithManifest = join(dir, 'flipped-manifest.age');
      await flipByte(first, flippedWithManifest, -200);
      await copyFile(`${first}.json`, `${flippedWithManifest}.json`);
      await assert.rejects(verifyBackupFile(flippedWithManifest, decrypter, app.keyring), (error: unknown) => error instanceof BackupError && /differs from its manifest/.test(error.message));
      // Without the manifest, age's own authentication catches it.
      for (const offset of [-200, 400]) {
        const flipped = join(dir, `flipped${offset}.age`);
        await flipByte(first, flipped, offset);
        await assert.rejects(verifyBackupFile(flipped, decrypter, app.keyring), (error: unknown) => error instanceof BackupError && /damaged|header/.test(error.message), `offset ${offset}`);
      }
      const cut = join(dir, 'cut.age');
      const bytes = await readFile(first);
      await writeFile(cut, bytes.subarray(0, bytes.length - 100));
      await assert.rejects(verifyBackupFile(cut, decrypter, app.keyring), (error: unknown) => error instanceof BackupError && /damaged|truncated/.test(error.message));
      const stranger = await identityFile(dir, 'stranger.txt');
      await assert.rejects(verifyBackupFile(first, await readIdentityFile(stranger.path), app.keyring), (error: unknown) => error instanceof BackupError && /none of the given identities/.test(error.message));
    });

    it('refuses a backup another installation made for the same recipient (anyone can encrypt to a public key): verify, restore, and as a newer ledger', async () => {
      const foreign = await engine.open();
      const target2 = await engine.open({ migrate: false });
      const forgedDir = await mkdtemp(join(tmpdir(), 'gatehouse-forged-'));
      try {
        // Same master key id, another key: the MAC key it wraps cannot be ours.
        const forged = join(forgedDir, backupFileName(new Date()));
        await createBackup(foreign.database, { recipients: [identity.recipient], out: forged, filesDir: null, now: new Date(), keyring: createKeyring([{ id: 'test', key: randomBytes(32) }]) });
        const decrypter = await readIdentityFile(identity.path);
        const notAuthentic = (error: unknown): boolean => error instanceof BackupError && /not authentic/.test(error.message);
        await assert.rejects(verifyBackupFile(forged, decrypter, app.keyring), notAuthentic);
        await assert.rejects(restoreBackupFile(target2.database, forged, decrypter, app.keyring, { filesDir: null, ledgerFiles: [] }), notAuthentic);
        // Planted beside a real backup, its ledger would erase accounts of the forger's choosing: the restore stops instead.
        await copyFile(first, join(forgedDir, 'gatehouse-backup-2000-01-01T00-00-00-000Z.age'));
        await assert.rejects(restoreBackupFile(target2.database, join(forgedDir, 'gatehouse-backup-2000-01-01T00-00-00-000Z.age'), decrypter, app.keyring, { filesDir: null, ledgerFiles: [] }), notAuthentic);
        const [tables] = await target2.database.db.selectFrom('users').select('id').execute().then(() => ['exists'], () => ['none']);
        assert.equal(tables, 'none', 'the refused restores left the target empty');
      } finally {
        await foreign.cleanup();
        await target2.cleanup();
        await rm(forgedDir, { recursive: true, force: true });
      }
    });

    if (engine.engine === 'pglite') {
      it('does not restore an authentic backup whose audit chain was tampered with before it was taken, and leaves the target empty', async () => {
        const tampered = await engine.open();
        const empty = await engine.open({ migrate: false });
        try {
          const keyring = app.keyring;
          const other = await startAppOn(tampered);
          try {
            await registerVerified(other, uniqueEmail('chain'), strongPassword());
          } finally {
            await other.close();
          }
          // An owner rewriting history behind the append-only trigger.
          await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(tampered.database.db);
          await sql`UPDATE audit_events SET details = '{"forged":true}'::jsonb WHERE seq = 1`.execute(tampered.database.db);
          await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(tampered.database.db);
          const out = join(dir, 'tampered-chain.age');
          await createBackup(tampered.database, { recipients: [identity.recipient], out, filesDir: null, now: new Date(), keyring });
          const decrypter = await readIdentityFile(identity.path);
          const verified = await verifyBackupFile(out, decrypter, keyring);
          assert.equal(verified.checks.audit.ok, false);
          assert.equal(verified.checks.audit.firstBrokenSeq, 1);
          await assert.rejects(restoreBackupFile(empty.database, out, decrypter, keyring, { filesDir: null, ledgerFiles: [] }), (error: unknown) => error instanceof BackupError && /failed its checks, nothing was kept: audit chain broken at seq 1/.test(error.message));
          const tables = await sql<{ count: number }>`SELECT count(*)::int AS count FROM pg_tables WHERE schemaname = current_schema()`.execute(empty.database.db);
          assert.equal(tables.rows[0]?.count, 0, 'the refused restore left the target empty');
        } finally {
          await tampered.cleanup();
          await empty.cleanup();
        }
      });

      it('after a master-key rotation, an older backup needs the old master key too and names it; a newer one needs only the new key', async () => {
        const own = await engine.open();
        try {
          const k1 = { id: 'k1', key: randomBytes(32) };
          const k2 = { id: 'k2', key: randomBytes(32) };
          await getOrCreateSystemKey(own.database.db, createKeyring([k1]), 'audit-chain');
          await createDataKey(own.database.db, createKeyring([k1]), randomUUID());
          const older = join(dir, 'before-rotation.age');
          await createBackup(own.database, { recipients: [identity.recipient], out: older, filesDir: null, now: new Date(), keyring: createKeyring([k1]) });
          // What `gatehouse keys rotate-master` does: every stored key re-wrapped under k2.
          const rewrapped = await rewrapAll(own.database.db, createKeyring([k2, k1]));
          assert.deepEqual(rewrapped, { dataKeys: 1, systemKeys: 2 }, 'the data key, the audit key and the backup MAC key');
          const newer = join(dir, 'after-rotation.age');
          await createBackup(own.database, { recipients: [identity.recipient], out: newer, filesDir: null, now: new Date(), keyring: createKeyring([k2, k1]) });
          const decrypter = await readIdentityFile(identity.path);
          await assert.rejects(verifyBackupFile(older, decrypter, createKeyring([k2])), (error: unknown) => error instanceof BackupError && /wrapped under master key "k1"/.test(error.message));
          assert.equal(restoredChecksPass((await verifyBackupFile(older, decrypter, createKeyring([k2, k1]))).checks), true);
          assert.equal(restoredChecksPass((await verifyBackupFile(newer, decrypter, createKeyring([k2]))).checks), true);
        } finally {
          await own.cleanup();
        }
      });
    }
  });
}
