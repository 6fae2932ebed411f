// `gatehouse keys rotate-data-keys --all` killed with SIGKILL midway (300 users, batches
// of 10, slowed with --pause-ms so the kill lands mid-run) and run again: after the kill
// every sealed value opens under its owner's current key (each owner wholly old or wholly
// new) and `gatehouse audit verify` passes; the second run resumes the same run (same id,
// same start) and finishes it, each user rotated exactly once; every value opens and the
// chain verifies at the end. `audit verify` also runs while the rotation is under way.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openEverySealedValue } from '../../src/features/data-keys/data-keys.fixtures.ts';
import { saveTotpEnrolment } from '../../src/features/mfa/repo.ts';
import { createTotpSecret } from '../../src/features/mfa/totp.ts';
import { createSession } from '../../src/features/sessions/repo.ts';
import { createAccount } from '../../src/features/users/create-account.ts';
import { SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';
import { startTestApp, testMasterKeyEnv } from '../helpers/app.ts';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { MAIN, runCommand } from '../helpers/server-process.ts';

const postgres = testEngines().find((engine) => engine.engine === 'postgres');
const USERS = 300;
const KILL_AFTER_ROTATED = 90;
const SYSTEM = { actor: { type: 'system' }, context: { ip: null, userAgent: null, requestId: null } } as const;

describe('data-key rotation killed with SIGKILL and resumed (PostgreSQL)', { timeout: 280_000, skip: postgres === undefined ? 'DATABASE_URL_TEST is not set' : false }, () => {
  let database: TestDatabase | null = null;
  let dataDir = '';
  after(async () => {
    await database?.cleanup();
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('leaves every field readable when killed, and the rerun finishes the same run with each user rotated once; audit verify passes throughout', async (t) => {
    assert.ok(postgres !== undefined);
    database = await postgres.open();
    const db = database.database.db;
    dataDir = await mkdtemp(join(tmpdir(), 'gh-dkr-kill-'));
    const seed = await startTestApp({ database: database.database });
    const auth = seed.services.auth;
    for (let index = 0; index < USERS; index++) {
      const created = await createAccount(auth, { email: uniqueEmail(`dkr-${index}`), name: `Rotated ${index}`, password: strongPassword(), roles: ['user'], emailVerified: true }, SYSTEM);
      assert.ok(created.kind === 'created');
      if (index % 3 === 0) {
        await db.transaction().execute(async (trx) => {
          await createSession(trx, auth.lifetimes, { userId: created.id, ip: `198.51.100.${index % 250}`, userAgent: `Kill/${index}`, authMethod: 'password', amr: ['pwd'], now: new Date() }, auth.keyring);
          if (index % 9 === 0) assert.ok(await saveTotpEnrolment(trx, auth.keyring, created.id, createTotpSecret(), new Date()));
        });
      }
    }
    await seed.close();
    const owners = (await db.selectFrom('data_keys').select('owner_id').execute()).length;
    assert.ok(owners >= USERS);
    const sealedValues = await openEverySealedValue(db, seed.keyring);
    t.diagnostic(`${owners} data keys, ${sealedValues} sealed values`);

    const env = { DATA_DIR: dataDir, DATABASE_URL: database.url ?? '', GATEHOUSE_MASTER_KEY: testMasterKeyEnv(), LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, 'keys', 'rotate-data-keys', '--all', '--batch', '10', '--pause-ms', '25'], { cwd: dataDir, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => { resolve({ code, signal }); });
    });
    const rotatedSoFar = async (): Promise<number> => Number((await db.selectFrom('retired_data_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const deadline = Date.now() + 120_000;
    let verifiedDuring = false;
    while ((await rotatedSoFar()) < KILL_AFTER_ROTATED) {
      assert.ok(Date.now() < deadline, `the rotation did not get to ${KILL_AFTER_ROTATED} users: ${output}`);
      assert.equal(child.exitCode, null, `the rotation ended before the kill: ${output}`);
      if (!verifiedDuring && (await rotatedSoFar()) > 10) {
        const during = await runCommand(['audit', 'verify'], { env, cwd: dataDir });
        assert.equal(during.code, 0, during.stdout + during.stderr);
        verifiedDuring = true;
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    const exit = await exited;
    assert.equal(exit.signal, 'SIGKILL', `killed, not finished: ${output}`);
    assert.ok(verifiedDuring, 'audit verify ran while the rotation was under way');

    const open = await db.selectFrom('data_key_rotations').selectAll().where('scope', '=', 'all').where('finished_at', 'is', null).executeTakeFirstOrThrow();
    const atKill = await rotatedSoFar();
    t.diagnostic(`killed after ${atKill} of ${owners} users (run counter ${open.rotated})`);
    assert.equal(open.rotated, atKill, 'the run counted exactly the users whose rotation committed');
    assert.ok(atKill < owners, 'killed midway');
    assert.equal(await openEverySealedValue(db, seed.keyring), sealedValues, 'every sealed value opens after the kill');
    const verified = await runCommand(['audit', 'verify'], { env, cwd: dataDir });
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    const resumeStarted = performance.now();
    const resumed = await runCommand(['keys', 'rotate-data-keys', '--all', '--batch', '10'], { env, cwd: dataDir });
    t.diagnostic(`the resumed run rotated the remaining ${owners - atKill} users in ${Math.round(performance.now() - resumeStarted)} ms (the command's start included)`);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.ok(resumed.stdout.includes(`resumed and finished run ${open.id} `), resumed.stdout);
    assert.equal(/: (\d+) data keys rotated, 0 skipped/.exec(resumed.stdout)?.[1], String(owners), 'the run counts every user, before and after the kill');
    const retired = await db.selectFrom('retired_data_keys').select('owner_id').where('rotation_id', '=', open.id).execute();
    assert.equal(retired.length, owners);
    assert.equal(new Set(retired.map((row) => row.owner_id)).size, owners, 'each user rotated exactly once');
    const stale = await db.selectFrom('data_keys').select('owner_id').where('created_at', '<', open.started_at).execute();
    assert.deepEqual(stale, [], 'no key from before the run is left');
    assert.equal(await openEverySealedValue(db, seed.keyring), sealedValues, 'every sealed value opens after the resumed run');
    const rotatedRecords = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'data_key.rotated').executeTakeFirstOrThrow();
    assert.equal(Number(rotatedRecords.n), owners, 'one data_key.rotated record per user, none for the killed transaction');
    const finalCheck = await runCommand(['audit', 'verify'], { env, cwd: dataDir });
    assert.equal(finalCheck.code, 0, finalCheck.stdout + finalCheck.stderr);
    assert.match(finalCheck.stdout, /audit chain intact/);
  });
});
