// Attacks on, and hazards of, data-key rotation:
// - a login racing a user's rotation must not seal its session under the key being
//   destroyed (the session would be unreadable for ever): the sealer takes the key row
//   FOR SHARE (envelope.ts loadDataKeyToSeal) and waits for the rotation;
// - logins and profile changes in parallel with repeated rotations of the same user: no
//   request fails (no deadlock is resolved against a request) and every value opens;
// - the rotation must not write the erasure ledger: a backup restore re-applies that
//   ledger by erasing whole accounts, so a live user whose old key id was recorded there
//   would be deleted. A restore of a backup taken before the rotation keeps the rotated
//   user and still erases the user erased since.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testEngines } from '../../../test/helpers/database.ts';
import { appPerSuite, createUser } from '../../../test/security/authz.fixtures.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { backupFileName, createBackup, generateBackupIdentity, ledgerLines, readIdentityFile, restoreBackupFile, restoredChecksPass } from '../backup/index.ts';
import { eraseAccount, loadEmail } from '../users/index.ts';
import { logIn, openEverySealedValue, rotateAll, rotateUser, seededAccount } from './data-keys.fixtures.ts';

for (const engine of testEngines()) {
  describe(`data-key rotation hazards on ${engine.engine}`, { timeout: 240_000 }, () => {
    const suite = appPerSuite(engine);

    it('a login racing the rotation of its user leaves a readable session (it waits for the rotation, then seals under the new key)', async () => {
      const { test } = suite;
      const account = await seededAccount(test, 'race');
      let paused!: () => void;
      const reachedSwap = new Promise<void>((resolve) => { paused = resolve; });
      let release!: () => void;
      const released = new Promise<void>((resolve) => { release = resolve; });
      // The rotation has re-sealed every session it could see and is about to replace the key.
      const rotation = rotateUser(test, account.id, { beforeKeySwap: async () => { paused(); await released; } });
      await reachedSwap;
      const racing = logIn(test, account, `${account.agent}-racing`);
      await sleep(400);
      release();
      const [rotated, login] = await Promise.all([rotation, racing]);
      assert.equal(rotated.outcome.status, 'rotated');
      const sessions = await test.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: { authorization: `Bearer ${login.access_token}` } });
      assert.equal(sessions.statusCode, 200, sessions.body);
      const racingSession = sessions.json<{ id: string; user_agent: string | null; ip: string | null }[]>().find((session) => session.id === login.session_id);
      assert.equal(racingSession?.user_agent, `${account.agent}-racing`);
      assert.ok(racingSession.ip !== null);
      assert.ok((await openEverySealedValue(test.database.db, test.keyring)) > 0);
    });

    it('logins and name changes in parallel with repeated rotations of the same user all succeed, and every value opens', async () => {
      const { test } = suite;
      const account = await seededAccount(test, 'parallel');
      // Logins of one account are one at a time (more in parallel count as a guessing burst:
      // auth/attempts.ts), so the logins form one sequence and the name changes another,
      // both racing the rotations.
      const logins = (async () => {
        const statuses: number[] = [];
        for (let n = 0; n < 10; n += 1) {
          const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': `${account.agent}-p${n}` }, payload: { email: account.email, password: account.password } });
          statuses.push(response.statusCode);
        }
        return statuses;
      })();
      const renames = (async () => {
        const statuses: number[] = [];
        for (let n = 0; n < 6; n += 1) statuses.push((await test.app.inject({ method: 'PATCH', url: '/v1/me', headers: { authorization: `Bearer ${account.token}` }, payload: { name: account.name } })).statusCode);
        return statuses;
      })();
      const rotations = (async () => {
        for (let n = 0; n < 3; n += 1) assert.equal((await rotateUser(test, account.id)).outcome.status, 'rotated');
      })();
      const [loginStatuses, renameStatuses] = await Promise.all([logins, renames, rotations]);
      const statuses = [...loginStatuses, ...renameStatuses];
      assert.deepEqual(statuses.filter((status) => status !== 200), [], 'no request failed');
      assert.ok((await openEverySealedValue(test.database.db, test.keyring)) > 0);
      const listed = await test.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: { authorization: `Bearer ${account.token}` } });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.equal((await test.database.db.selectFrom('retired_data_keys').select('key_id').where('owner_id', '=', account.id).execute()).length, 3);
    });

    it('a rotation writes no erasure: restoring a backup from before it keeps the rotated user and still erases the user erased since', async () => {
      const { test } = suite;
      const db = test.database.db;
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-dkr-backup-'));
      const target = await engine.open({ migrate: false });
      try {
        const { identity, recipient } = await generateBackupIdentity();
        const identityPath = join(dir, 'identity.txt');
        await writeFile(identityPath, `${identity}\n`, { mode: 0o600 });
        const alice = await createUser(test, { label: 'ledger-alice', name: 'Alice Ledger' });
        const bob = await createUser(test, { label: 'ledger-bob', name: 'Bob Ledger' });
        const first = join(dir, backupFileName(new Date(Date.now() - 60_000)));
        await createBackup(test.database, { recipients: [recipient], out: first, filesDir: null, now: new Date(Date.now() - 60_000), keyring: test.keyring });

        const rotated = await rotateAll(test, 50);
        assert.ok(rotated.rotated >= 2);
        await test.services.auth.change({ ip: null, userAgent: null, requestId: null }, async ({ trx, audit }) => {
          await eraseAccount(trx, { id: bob.id, emailIndex: test.services.auth.blindIndex.email(bob.email) }, 'user_deleted', new Date());
          audit({ actor: { type: 'system', id: 'test' }, action: 'user.deleted', target: { type: 'user', id: bob.id }, outcome: 'success' });
        });
        const ledger: string[] = [];
        for await (const line of ledgerLines(db)) ledger.push(line);
        const ledgerOwners = ledger.map((line) => (JSON.parse(line) as { owner_id: string }).owner_id);
        assert.deepEqual(ledgerOwners, [bob.id], 'only the erased user is in the erasure ledger; retired keys are not');
        assert.ok((await db.selectFrom('retired_data_keys').select('key_id').where('owner_id', '=', alice.id).execute()).length >= 1);
        await createBackup(test.database, { recipients: [recipient], out: join(dir, backupFileName(new Date())), filesDir: null, now: new Date(), keyring: test.keyring });

        const report = await restoreBackupFile(target.database, first, await readIdentityFile(identityPath), test.keyring, { filesDir: null, ledgerFiles: [] });
        assert.equal(restoredChecksPass(report.checks), true, JSON.stringify(report.checks));
        assert.equal(report.erasuresApplied, 1, 'bob, and nobody else');
        const restored = target.database.db;
        assert.equal(await restored.selectFrom('users').select('id').where('id', '=', bob.id).executeTakeFirst(), undefined);
        assert.equal(await restored.selectFrom('data_keys').select('owner_id').where('owner_id', '=', bob.id).executeTakeFirst(), undefined);
        assert.equal(await loadEmail(restored, test.keyring, alice.id), alice.email, 'alice is alive and readable (under the key her backup holds)');
      } finally {
        await target.cleanup();
        await rm(dir, { recursive: true, force: true });
      }
      const verified = await verifyAuditChain(db, test.services.auditKeys);
      assert.equal(verified.ok, true, JSON.stringify(verified));
    });
  });
}
