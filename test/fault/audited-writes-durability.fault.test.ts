// Acknowledged means durable, for every kind of audited write: `gatehouse serve` on
// PostgreSQL is killed with SIGKILL in the middle of a mixed load (logins, password changes,
// role assignments by an administrator), started again, and then every write it answered
// 2xx must be there: the session of each login (with its refresh token and its audit
// record: no session half-created), each password change (the new password works, the old
// one does not) with its "password changed" mail, each role assignment with its audit
// record and its signed `role.assigned` webhook; and the audit chain verifies. Mail and
// webhooks go through the durable job queue; jobs the killed instance had claimed wait for
// their lease to run out (about 45 s) before the restarted one takes them over.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccount } from '../../src/features/users/create-account.ts';
import { startReceiver, testWebhookSecret, type Receiver } from '../../src/features/webhooks/webhooks.fixtures.ts';
import { startTestApp, testMasterKeyEnv } from '../helpers/app.ts';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { runCommand, startServer, type ServerProcess } from '../helpers/server-process.ts';

const postgres = testEngines().find((engine) => engine.engine === 'postgres');
const USERS = 6;
const ROLES = 60;
const KILL_AFTER_ACKNOWLEDGED = 40;

interface Account {
  readonly id: string;
  readonly email: string;
  /** The last password a change of which was acknowledged (or the first). */
  password: string;
  /** A change in flight when the server died: it may or may not have committed. */
  pending: string | null;
  /** Passwords replaced by an acknowledged change: none may work. */
  readonly retired: string[];
  readonly changed: number[];
}

async function outboxSubjects(dataDir: string): Promise<{ to: string; subject: string }[]> {
  const directory = join(dataDir, 'outbox');
  const files = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.eml'));
  return Promise.all(files.map(async (file) => {
    const text = await readFile(join(directory, file), 'utf8');
    return { to: /^To: (.+)$/m.exec(text)?.[1]?.trim() ?? '', subject: /^Subject: (.+)$/m.exec(text)?.[1]?.trim() ?? '' };
  }));
}

const SYSTEM = { actor: { type: 'system' }, context: { ip: null, userAgent: null, requestId: null } } as const;

describe('acknowledged audited writes survive kill -9 (PostgreSQL)', { timeout: 220_000, skip: postgres === undefined ? 'DATABASE_URL_TEST is not set' : false }, () => {
  let database: TestDatabase | null = null;
  let server: ServerProcess | null = null;
  let receiver: Receiver | null = null;
  let dataDir = '';
  after(async () => {
    await server?.stop();
    await receiver?.close();
    await database?.cleanup();
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('every login, password change and role assignment answered 2xx before the kill is there after the restart, with its mail, webhook and audit record', async (t) => {
    assert.ok(postgres !== undefined);
    database = await postgres.open();
    const db = database.database.db;
    receiver = await startReceiver();
    dataDir = await mkdtemp(join(tmpdir(), 'gh-audited-'));
    // Accounts made in this process with the master key the server is given.
    const seed = await startTestApp({ database: database.database });
    const admin = { email: uniqueEmail('durable-admin'), password: strongPassword() };
    assert.equal((await createAccount(seed.services.auth, { ...admin, name: null, roles: ['admin'], emailVerified: true }, SYSTEM)).kind, 'created');
    const accounts: Account[] = [];
    for (let index = 0; index < USERS; index++) {
      const email = uniqueEmail(`durable-${index}`);
      const password = strongPassword();
      const created = await createAccount(seed.services.auth, { email, name: null, password, roles: ['user'], emailVerified: true }, SYSTEM);
      assert.ok(created.kind === 'created');
      accounts.push({ id: created.id, email, password, pending: null, retired: [], changed: [] });
    }
    await seed.close();

    const env = {
      DATA_DIR: dataDir,
      DATABASE_URL: database.url ?? '',
      GATEHOUSE_MASTER_KEY: testMasterKeyEnv(),
      SECURITY_WEBHOOK_URLS: receiver.url,
      SECURITY_WEBHOOK_SECRET: testWebhookSecret(),
      MFA_REQUIRED_ROLES: 'none',
      RATE_LIMIT_MAX: '100000',
      AUTH_RATE_LIMIT_MAX: '100000',
      AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000',
    };
    server = await startServer({ env, until: 'ready' });
    const running = server;
    const adminLogin = await running.request('POST', '/v1/auth/login', { body: admin });
    assert.equal(adminLogin.status, 200);
    const adminToken = String(adminLogin.json['access_token']);
    const roles = Array.from({ length: ROLES }, (_, index) => `durable-${index}`);
    for (const name of roles) {
      const made = await running.request('POST', '/v1/admin/roles', { token: adminToken, body: { name, permissions: ['users:read'] } });
      assert.equal(made.status, 201, JSON.stringify(made.json));
    }

    // The first deliveries are refused, so their jobs wait for a retry (30 s) and are still
    // in the queue when the server dies: the restarted one must deliver them.
    const REFUSED = 6;
    const setUp = (await receiver.waitFor(1 + ROLES, 60_000)).length; // the admin's login and the role creations
    receiver.reply(...Array.from({ length: REFUSED }, () => 503));
    const sessions: string[] = [];
    const assigned: { user: string; role: string }[] = [];
    let acknowledged = 0;
    let stop = false;
    let killing = false;
    // Each account has one writer, so its password state is known: logins and changes.
    async function accountWriter(account: Account): Promise<void> {
      while (!stop) {
        try {
          const login = await running.request('POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
          if (login.status !== 200) throw new Error(`login ${login.status}`);
          sessions.push(String(login.json['session_id']));
          acknowledged += 1;
          const next = strongPassword();
          account.pending = next;
          const changed = await running.request('POST', '/v1/me/password', { token: String(login.json['access_token']), body: { current_password: account.password, new_password: next } });
          if (changed.status !== 204) throw new Error(`password change ${changed.status}`);
          account.retired.push(account.password);
          account.password = next;
          account.pending = null;
          account.changed.push(Date.now());
          acknowledged += 1;
        } catch (error) {
          if (killing || !running.running()) return; // the connection died with the server
          throw error;
        }
      }
    }
    async function roleWriter(): Promise<void> {
      for (let index = 0; !stop && index < ROLES; index++) {
        const user = accounts[index % accounts.length];
        const role = roles[index];
        if (user === undefined || role === undefined) return;
        try {
          const answer = await running.request('PUT', `/v1/admin/users/${user.id}/roles/${role}`, { token: adminToken });
          if (answer.status !== 200) throw new Error(`assign ${answer.status}`);
          assigned.push({ user: user.id, role });
          acknowledged += 1;
        } catch (error) {
          if (killing || !running.running()) return;
          throw error;
        }
      }
    }
    const writers = [...accounts.map((account) => accountWriter(account)), roleWriter()];
    while (acknowledged < KILL_AFTER_ACKNOWLEDGED && running.running()) await sleep(5);
    killing = true;
    const exit = await running.kill();
    stop = true;
    await Promise.all(writers);
    assert.equal(exit.signal, 'SIGKILL');
    t.diagnostic(`acknowledged before the kill: ${sessions.length} logins, ${accounts.reduce((sum, account) => sum + account.changed.length, 0)} password changes, ${assigned.length} role assignments`);
    assert.ok(acknowledged >= KILL_AFTER_ACKNOWLEDGED);

    server = await startServer({ env, until: 'ready' });
    const restarted = server;

    // Sessions: each acknowledged login's session is there, and no session anywhere lacks its refresh token or its audit record.
    const stored = new Set((await db.selectFrom('sessions').select('id').execute()).map((row) => row.id));
    assert.deepEqual(sessions.filter((id) => !stored.has(id)), [], 'sessions of acknowledged logins');
    const withoutToken = await db.selectFrom('sessions').select('id').where((eb) => eb.not(eb.exists(eb.selectFrom('refresh_tokens').select('session_id').whereRef('refresh_tokens.session_id', '=', 'sessions.id')))).execute();
    assert.deepEqual(withoutToken, [], 'no session without its refresh token');
    const loginRecords = new Set((await db.selectFrom('audit_events').select('target_id').where('action', '=', 'auth.login_succeeded').execute()).map((row) => row.target_id));
    assert.deepEqual([...stored].filter((id) => !loginRecords.has(id)), [], 'no session without its audit record');

    // Passwords: the last acknowledged one works (or the one in flight, if that committed); no replaced one does.
    for (const account of accounts) {
      const current = await restarted.request('POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
      const inFlight = current.status === 200 || account.pending === null ? null : await restarted.request('POST', '/v1/auth/login', { body: { email: account.email, password: account.pending } });
      assert.ok(current.status === 200 || inFlight?.status === 200, `${account.email}: neither the acknowledged nor the in-flight password works`);
      for (const old of account.retired) assert.equal((await restarted.request('POST', '/v1/auth/login', { body: { email: account.email, password: old } })).status, 401, 'a replaced password');
    }

    // Roles: each acknowledged assignment, with its record.
    const roleRows = await db.selectFrom('user_roles').select(['user_id', 'role']).where('role', 'like', 'durable-%').execute();
    const has = new Set(roleRows.map((row) => `${row.user_id} ${row.role}`));
    assert.deepEqual(assigned.filter((entry) => !has.has(`${entry.user} ${entry.role}`)), [], 'acknowledged role assignments');
    const roleRecords = await db.selectFrom('audit_events').select('details').where('action', '=', 'role.assigned').execute();
    assert.ok(roleRecords.length >= assigned.length);

    // Mail and webhooks of acknowledged writes arrive, claimed jobs included once their lease ran out.
    const changedAccounts = accounts.filter((account) => account.changed.length > 0);
    const started = Date.now();
    const mailedEnough = async (): Promise<boolean> => {
      const mails = await outboxSubjects(dataDir);
      return changedAccounts.every((account) => mails.filter((mail) => mail.to === account.email && mail.subject === 'Your password was changed').length >= account.changed.length);
    };
    // Distinct events delivered with a 2xx (the receiver answers in order: the REFUSED after the set-up got 503).
    const hooked = (): number => new Set((receiver?.received ?? []).slice(setUp + REFUSED).map((hook) => JSON.parse(hook.body) as { id: string; type: string }).filter((event) => event.type === 'role.assigned').map((event) => event.id)).size;
    assert.ok(receiver.received.length >= setUp + REFUSED, 'deliveries were refused before the kill');
    while (Date.now() - started < 150_000 && (!(await mailedEnough()) || hooked() < assigned.length)) await sleep(500);
    t.diagnostic(`mail and webhooks complete ${Date.now() - started} ms after the restart`);
    assert.equal(await mailedEnough(), true, 'a "password changed" mail for each acknowledged change');
    assert.ok(hooked() >= assigned.length, `${hooked()} role.assigned webhooks for ${assigned.length} acknowledged assignments`);

    // And the audit chain verifies.
    const verified = await runCommand(['audit', 'verify'], { env: { ...env, LOG_LEVEL: 'warn' }, cwd: dataDir });
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /audit chain intact/);
    restarted.assertAlive();
  });
});
