// `gatehouse keys rotate-blind-index` killed with SIGKILL in the middle of its move, on
// PGlite (on disk) and on PostgreSQL: a few thousand users, small batches slowed down by
// --pause-ms, the process killed once it has reported progress, then the same command run
// again. It must say it resumed, finish, leave every row on the new key and the old key
// destroyed, and every user must be found by login exactly once (one row per address,
// and login's own lookup finds it; one user in 15, spread over the id range, logs in over
// HTTP with the password).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBlindIndexState } from '../../src/core/crypto/blind-index-keys.ts';
import { openDatabase, type Database } from '../../src/core/db/database.ts';
import { migrate } from '../../src/core/db/migrate.ts';
import { findUserWithRolesByEmailIndexes, insertUser } from '../../src/features/users/repo.ts';
import { SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';
import { startTestApp, testMasterKeyEnv, type TestApp } from '../helpers/app.ts';
import { EMPTY_DIR, run } from '../helpers/cli.ts';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { httpClient, strongPassword } from '../helpers/http.ts';
import { MAIN } from '../helpers/server-process.ts';

const USERS = 3_000;
const BATCH = 20;
const PAUSE_MS = 25;
// A real HTTP login costs some 50 ms here (a password hash, a session, audit records): one
// user in LOGIN_SAMPLE logs in over HTTP, and every user is looked up as login does.
const LOGIN_SAMPLE = 15;
const generous = { RATE_LIMIT_MAX: '100000', AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000' };

interface Target {
  readonly env: Record<string, string>;
  /** Opens the database in this process (on PGlite, only while no command runs). */
  open(): Promise<Database>;
  release(database: Database): Promise<void>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gh-bi-kill-'));
  return {
    env: { DATA_DIR: dataDir },
    open: () => openDatabase({ engine: 'pglite', dataDir: join(dataDir, 'pglite') }),
    release: (database) => database.close(),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

function postgresTarget(test: TestDatabase, url: string): Target {
  return {
    env: { DATABASE_URL: url, DATA_DIR: EMPTY_DIR },
    open: () => Promise.resolve(test.database),
    release: () => Promise.resolve(),
    cleanup: () => test.cleanup(),
  };
}

async function seed(app: TestApp, emails: readonly string[], passwordHash: string): Promise<void> {
  const auth = app.services.auth;
  for (let from = 0; from < emails.length; from += 500) {
    await app.database.db.transaction().execute(async (trx) => {
      for (const email of emails.slice(from, from + 500)) {
        const id = await insertUser(trx, auth, { email, name: null, passwordHash, emailVerified: true, now: new Date() });
        assert.ok(id !== null);
      }
    });
  }
}

/** Runs the command and kills it with SIGKILL once it has reported re-indexing, `after` ms later. */
function runAndKill(env: Record<string, string>, after: number): Promise<{ stdout: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, 'keys', 'rotate-blind-index', '--batch-size', String(BATCH), '--pause-ms', String(PAUSE_MS), '--grace-seconds', '0'], {
      cwd: EMPTY_DIR,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let armed = false;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!armed && /re-indexed \d+ users so far/.test(stdout)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), after);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (signal === null) reject(new Error(`the command ended by itself (code ${String(code)}) before the kill: ${stdout} ${stderr}`));
      else resolve({ stdout, signal });
    });
  });
}

for (const engine of testEngines()) {
  describe(`rotate-blind-index killed mid-move and run again on ${engine.engine}`, { timeout: 290_000 }, () => {
    it(`moves all ${USERS} users, each found by login exactly once`, async (t) => {
      const test = engine.engine === 'postgres' ? await engine.open() : null;
      const target = test === null || test.url === null ? await pgliteTarget() : postgresTarget(test, test.url);
      const env = { ...generous, GATEHOUSE_MASTER_KEY: testMasterKeyEnv(), ...target.env };
      try {
        const password = strongPassword();
        const emails = Array.from({ length: USERS }, (_, n) => `bi.kill.${n}.${engine.engine}@example.test`);
        let database = await target.open();
        if (engine.engine === 'pglite') await migrate(database);
        let app = await startTestApp({ database, env: generous });
        await seed(app, emails, await app.services.auth.passwords.hash(password));
        await app.close();
        await target.release(database);

        const killed = await runAndKill(env, 1_500);
        assert.equal(killed.signal, 'SIGKILL');
        database = await target.open();
        const half = await readBlindIndexState(database.db);
        assert.equal(half.phase, 'moving', 'killed mid-move');
        assert.ok(half.moved > 0 && half.moved < USERS, `moved ${half.moved} of ${USERS} before the kill`);
        t.diagnostic(`killed after ${half.moved} of ${USERS} users had moved`);
        await target.release(database);

        const resumedAt = Date.now();
        const resumed = await run(['keys', 'rotate-blind-index', '--batch-size', String(BATCH), '--grace-seconds', '0'], env);
        assert.equal(resumed.code, 0, resumed.stderr);
        t.diagnostic(`the second run finished in ${Date.now() - resumedAt} ms (process start included)`);
        assert.match(resumed.stdout, /rotation resumed and finished: blind-index -> blind-index:2/);
        assert.match(resumed.stdout, new RegExp(`\\(${USERS} in all\\)`));

        database = await target.open();
        const done = await readBlindIndexState(database.db);
        assert.equal(done.phase, 'done');
        assert.equal(done.moved, USERS);
        const keys = await database.db.selectFrom('system_keys').select('id').where('purpose', '=', 'blind-index').execute();
        assert.deepEqual(keys.map((key) => key.id), ['blind-index:2']);
        const stale = await database.db.selectFrom('users').select('id').where('email_index_key', '<>', 'blind-index:2').execute();
        assert.deepEqual(stale, []);

        app = await startTestApp({ database, env: generous, listen: true });
        try {
          const blindIndex = app.services.auth.blindIndex;
          assert.equal(blindIndex.keyId, 'blind-index:2');
          const client = httpClient(app.baseURL);
          const seen = new Set<string>();
          for (const [n, email] of emails.entries()) {
            // What login looks up, for every user; and every LOGIN_SAMPLE-th logs in for real.
            const rows = await database.db.selectFrom('users').select('id').where('email_index', 'in', blindIndex.emailCandidates(email)).execute();
            assert.equal(rows.length, 1, `${email}: ${rows.length} rows`);
            const found = await findUserWithRolesByEmailIndexes(database.db, blindIndex.emailCandidates(email));
            assert.ok(found !== null && found.id === rows[0]?.id, `${email}: login finds another row`);
            seen.add(found.id);
            if (n % LOGIN_SAMPLE !== 0) continue;
            const response = await client.request('POST', '/v1/auth/login', { body: { email, password } });
            assert.equal(response.status, 200, `${email}: ${response.text}`);
          }
          assert.equal(seen.size, USERS);
        } finally {
          await app.close();
          await target.release(database);
        }
        const verify = await run(['audit', 'verify'], env);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /audit chain intact/);
      } finally {
        await target.cleanup();
      }
    });
  });
}
