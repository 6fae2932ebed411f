// Incident containment with two `gatehouse serve` instances on one PostgreSQL database and
// one Redis, driven as an operator drives it: the `gatehouse incident` CLI (a process of
// its own, which only writes to the database and announces over Redis), and HTTP to each
// instance. Every switch and revocation must be obeyed by both instances within the
// one-second bound of their caches; each propagation time is measured from the database's
// record of the change (the revocation's `revoked_at`, the switch's `updated_at`, both read
// from the command's clock before its commit) to the first refusal read from each
// instance, with the instances polled while the command runs, and printed.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../helpers/cli.ts';
import { call, instancesPerSuite, logIn, postgresEngineForInstances, warm, type Cluster, type Reply } from '../helpers/instances.ts';
import { strongPassword } from '../helpers/http.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { totpCodeAt, totpStep } from '../../src/features/mfa/totp.ts';

const BOUND_MS = 1_000;
const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;

type Diagnostics = { diagnostic(message: string): void };

function cliEnv(cluster: Cluster): Record<string, string> {
  return { ...cluster.env, GATEHOUSE_ENV: 'development', LOG_LEVEL: 'warn' };
}

/** Runs `gatehouse incident ...args` and returns its stdout; a failure fails the test. */
async function incident(cluster: Cluster, args: string[]): Promise<string> {
  const result = await run(['incident', ...args], cliEnv(cluster));
  assert.equal(result.code, 0, `incident ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Asks `request` of `server` every 10 ms until `refused` holds, and resolves to the wall
 * clock (Date.now()) when that answer was read; gives up after `timeoutMs`.
 */
async function firstRefusal(server: ServerProcess, request: (server: ServerProcess) => Promise<Reply>, refused: (reply: Reply) => boolean, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await request(server);
    if (refused(reply)) return Date.now();
    if (Date.now() > deadline) assert.fail(`${server.baseURL}: still ${reply.status} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The quoted-printable body of a mail, decoded enough to read its link. */
function decodeMail(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The reset token mailed to `to` by whichever instance ran the mail job. */
async function mailedResetToken(servers: readonly ServerProcess[], to: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const server of servers) {
      const directory = join(server.dataDir, 'outbox');
      for (const file of (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.eml'))) {
        const text = decodeMail(await readFile(join(directory, file), 'utf8'));
        if (!text.includes(`To: ${to}`) || !/Subject: Reset your password/.test(text)) continue;
        const linked = /#token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
        if (linked !== undefined) return linked;
      }
    }
    if (Date.now() > deadline) assert.fail(`no reset mail to ${to} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('incident containment with two instances on one PostgreSQL and Redis', { skip, timeout: 300_000 }, () => {
  const cluster = instancesPerSuite({ count: 2 });
  const servers = (): readonly ServerProcess[] => cluster().servers;
  const db = () => cluster().database.database.db;

  async function auditDetails(action: string): Promise<unknown[]> {
    const rows = await db().selectFrom('audit_events').select('details').where('action', '=', action).orderBy('seq').execute();
    return rows.map((row) => row.details);
  }

  async function switchPropagation(t: Diagnostics, what: string, args: string[], request: (server: ServerProcess) => Promise<Reply>, refused: (reply: Reply) => boolean): Promise<void> {
    const watching = servers().map((server) => firstRefusal(server, request, refused, 15_000));
    const stdout = await incident(cluster(), args);
    const seen = await Promise.all(watching);
    const row = await db().selectFrom('incident_flags').select('updated_at').executeTakeFirstOrThrow();
    const elapsed = seen.map((at) => at - row.updated_at.getTime());
    t.diagnostic(`${what}: seen by instances 1 and 2 ${elapsed.map((ms) => `${ms} ms`).join(' and ')} after the change (${stdout.trim()})`);
    for (const ms of elapsed) assert.ok(ms <= BOUND_MS, `${what}: seen only after ${ms} ms (bound ${BOUND_MS} ms)`);
  }

  it('freeze-registration on: both instances answer registration_frozen within 1 s; a repeat changes nothing; off reopens both', async (t) => {
    // Polled with a password the policy refuses (400 weak_password, before any hash) so that
    // polling costs the instances nothing: a frozen registration answers 503 before that.
    let sent = 0;
    const email = (): string => `new.${process.pid}.${Date.now()}.${sent++}@example.test`;
    const register = (server: ServerProcess): Promise<Reply> => call(server, 'POST', '/v1/auth/register', { body: { email: email(), password: 'password' } });
    for (const server of servers()) assert.equal((await register(server)).json['code'], 'weak_password');
    await switchPropagation(t, 'freeze-registration on', ['freeze-registration', 'on'], register, (reply) => reply.status === 503 && reply.json['code'] === 'registration_frozen');
    for (const server of servers()) {
      const strong = await call(server, 'POST', '/v1/auth/register', { body: { email: email(), password: strongPassword() } });
      assert.equal(strong.json['code'], 'registration_frozen', 'a well-formed registration is refused too');
    }
    assert.match(await incident(cluster(), ['freeze-registration', 'on']), /already; nothing changed/);
    const status = await incident(cluster(), ['status']);
    assert.match(status, /registration frozen: on since /);
    assert.match(status, /signing keys:\n {2}\S+ active\n/);
    await switchPropagation(t, 'freeze-registration off', ['freeze-registration', 'off'], register, (reply) => reply.json['code'] === 'weak_password');
    for (const server of servers()) assert.equal((await call(server, 'POST', '/v1/auth/register', { body: { email: email(), password: strongPassword() } })).status, 202);
    assert.deepEqual(await auditDetails('incident.registration_frozen'), [{ changed: true }, { changed: false }]);
    assert.deepEqual(await auditDetails('incident.registration_unfrozen'), [{ changed: true }]);
  });

  it('maintenance on: both instances refuse new logins within 1 s, except an admin who completes the login with TOTP; existing sessions keep working', async (t) => {
    const [one, two] = servers();
    assert.ok(one !== undefined && two !== undefined);
    const user = await cluster().account([]);
    const plainAdmin = await cluster().account(['admin']);
    const totpAdmin = await cluster().account(['admin']);
    const kept = await call(one, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(kept.status, 200);
    const keptAccess = String(kept.json['access_token']);
    // The admin's authenticator app, enrolled through the routes.
    const adminSession = await logIn(one, totpAdmin.email, totpAdmin.password);
    const started = await call(one, 'POST', '/v1/me/mfa/totp', { token: adminSession.access });
    assert.equal(started.status, 200, JSON.stringify(started.json));
    const secret = { base32: String(started.json['secret']) };
    let lastStep = totpStep(new Date());
    const confirmed = await call(one, 'POST', '/v1/me/mfa/totp/confirm', { token: adminSession.access, body: { code: totpCodeAt(secret, lastStep) } });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.json));
    /** A code of a later step than any used (codes are single-use), within the server's ±1 step: waits for the clock if it must. */
    async function nextCode(): Promise<string> {
      lastStep += 1;
      while (totpStep(new Date()) + 1 < lastStep) await sleep(500);
      return totpCodeAt(secret, lastStep);
    }

    const logInUser = (server: ServerProcess): Promise<Reply> => call(server, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
    await switchPropagation(t, 'maintenance on', ['maintenance', 'on'], logInUser, (reply) => reply.status === 503 && reply.json['code'] === 'maintenance_mode');
    try {
      assert.match(await incident(cluster(), ['maintenance', 'on']), /already; nothing changed/);
      for (const [index, server] of [one, two].entries()) {
        const wrong = await call(server, 'POST', '/v1/auth/login', { body: { email: user.email, password: `${user.password}x` } });
        assert.equal(wrong.json['code'], 'invalid_credentials', 'a wrong password answers as always');
        const noFactor = await call(server, 'POST', '/v1/auth/login', { body: { email: plainAdmin.email, password: plainAdmin.password } });
        assert.equal(noFactor.status, 503, 'an admin without a second factor is refused');
        assert.equal(noFactor.json['code'], 'maintenance_mode');
        const first = await call(server, 'POST', '/v1/auth/login', { body: { email: totpAdmin.email, password: totpAdmin.password } });
        assert.equal(first.status, 200, JSON.stringify(first.json));
        assert.equal(first.json['mfa_required'], true);
        const second = await call(server, 'POST', '/v1/auth/mfa', { body: { mfa_token: first.json['mfa_token'], code: await nextCode() } });
        assert.equal(second.status, 200, `the admin with TOTP signs in on instance ${index + 1}: ${JSON.stringify(second.json)}`);
        assert.equal((await call(server, 'GET', '/v1/me', { token: keptAccess })).status, 200, 'an existing session keeps working');
      }
      const refreshed = await call(two, 'POST', '/v1/auth/refresh', { body: { refresh_token: kept.json['refresh_token'] } });
      assert.equal(refreshed.status, 200, 'and keeps refreshing');
      assert.match(await incident(cluster(), ['status']), /maintenance: +on since /);
    } finally {
      await incident(cluster(), ['maintenance', 'off']);
    }
    await sleep(1_100);
    for (const server of servers()) assert.equal((await logInUser(server)).status, 200);
    assert.deepEqual(await auditDetails('incident.maintenance_started'), [{ changed: true }, { changed: false }]);
    assert.deepEqual(await auditDetails('incident.maintenance_ended'), [{ changed: true }]);
  });

  it('force-password-reset --user --notify: the old session\'s token and refresh are refused on both within 1 s; the correct password answers password_reset_required, a wrong one invalid_credentials; the mailed reset lets the user in again', async (t) => {
    const [one, two] = servers();
    assert.ok(one !== undefined && two !== undefined);
    const user = await cluster().account([]);
    const bystander = await cluster().account([]);
    const session = await call(one, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(session.status, 200);
    const access = String(session.json['access_token']);
    const me = (server: ServerProcess): Promise<Reply> => call(server, 'GET', '/v1/me', { token: access });
    await warm([one, two], me, 200);

    const watching = [one, two].map((server) => firstRefusal(server, me, (reply) => reply.status === 401, 15_000));
    const stdout = await incident(cluster(), ['force-password-reset', '--user', user.id, '--notify']);
    const seen = await Promise.all(watching);
    assert.match(stdout, /1 user must reset their password, 1 session revoked, 1 reset mail queued/);
    const revoked = await db().selectFrom('sessions').select('revoked_at').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    assert.ok(revoked.revoked_at !== null);
    const elapsed = seen.map((at) => at - revoked.revoked_at!.getTime());
    t.diagnostic(`force-password-reset: the old access token refused by instances 1 and 2 ${elapsed.map((ms) => `${ms} ms`).join(' and ')} after the revocation`);
    for (const ms of elapsed) assert.ok(ms <= BOUND_MS, `refused only after ${ms} ms`);
    const refreshed = await call(two, 'POST', '/v1/auth/refresh', { body: { refresh_token: session.json['refresh_token'] } });
    assert.equal(refreshed.status, 401, 'the old session does not refresh');

    for (const server of [one, two]) {
      const correct = await call(server, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
      assert.equal(correct.status, 403);
      assert.equal(correct.json['code'], 'password_reset_required');
      const wrong = await call(server, 'POST', '/v1/auth/login', { body: { email: user.email, password: `${user.password}x` } });
      const usual = await call(server, 'POST', '/v1/auth/login', { body: { email: bystander.email, password: `${bystander.password}x` } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json['code'], 'invalid_credentials');
      assert.deepEqual({ ...wrong.json, request_id: null }, { ...usual.json, request_id: null }, 'the same answer as any wrong password');
    }
    assert.match(await incident(cluster(), ['force-password-reset', '--user', user.id, '--notify']), /already required a reset; nothing changed/);
    assert.match(await incident(cluster(), ['status']), /users required to reset their password: 1/);
    const summaries = await auditDetails('incident.password_reset_forced');
    assert.deepEqual(summaries, [
      { scope: 'user', user_id: user.id, users_marked: 1, sessions_revoked: 1, notify: true, notified: 1 },
      { scope: 'user', user_id: user.id, users_marked: 0, sessions_revoked: 0, notify: true, notified: 0 },
    ]);

    const token = await mailedResetToken(servers(), user.email, 30_000);
    const newPassword = strongPassword();
    const reset = await call(two, 'POST', '/v1/auth/password/reset', { body: { token, password: newPassword } });
    assert.equal(reset.status, 204, JSON.stringify(reset.json));
    for (const server of [one, two]) {
      const again = await call(server, 'POST', '/v1/auth/login', { body: { email: user.email, password: newPassword } });
      assert.equal(again.status, 200, JSON.stringify(again.json));
    }
  });

  it('force-password-reset --role reaches that role\'s holders only', async () => {
    const [one] = servers();
    assert.ok(one !== undefined);
    const role = `suspect-${Date.now().toString(36)}`;
    const created = await call(one, 'POST', '/v1/admin/roles', { token: cluster().admin, body: { name: role, permissions: [] } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const holders = [await cluster().account([role]), await cluster().account([role, 'support'])];
    const others = [await cluster().account([]), await cluster().account(['support'])];
    assert.match(await incident(cluster(), ['force-password-reset', '--role', role]), /2 users must reset their password/);
    for (const holder of holders) assert.equal((await call(one, 'POST', '/v1/auth/login', { body: { email: holder.email, password: holder.password } })).json['code'], 'password_reset_required');
    for (const other of others) assert.equal((await call(one, 'POST', '/v1/auth/login', { body: { email: other.email, password: other.password } })).status, 200);
    const result = await run(['incident', 'sign-out', '--role', 'no-such-role'], cliEnv(cluster()));
    assert.equal(result.code, 1);
    assert.match(result.stdout, /nothing done: no role named no-such-role/);
    const usage = await run(['incident', 'sign-out', '--all', '--role', role], cliEnv(cluster()));
    assert.equal(usage.code, 2, 'two scopes are a usage error');
    assert.match(usage.stderr, /exactly one of --all, --role ROLE, --user USER_ID/);
    const bare = await run(['incident', 'sign-out'], cliEnv(cluster()));
    assert.equal(bare.code, 2, 'no scope is a usage error, never "everyone"');
    const noState = await run(['incident', 'maintenance', 'yes'], cliEnv(cluster()));
    assert.equal(noState.code, 2);
    assert.match(noState.stderr, /incident maintenance takes on or off/);
    assert.match(await incident(cluster(), ['status']), /maintenance: +off/, 'nothing was switched');
  });

  it('sign-out --all: every session\'s access token is refused on both instances within 1 s, and its refresh token at once; a repeat revokes nothing', async (t) => {
    const [one, two] = servers();
    assert.ok(one !== undefined && two !== undefined);
    const users = [await cluster().account([]), await cluster().account(['support']), await cluster().account([])];
    const sessions = await Promise.all(users.map(async (user, index) => {
      const reply = await call(index % 2 === 0 ? one : two, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
      assert.equal(reply.status, 200);
      return { access: String(reply.json['access_token']), refresh: String(reply.json['refresh_token']) };
    }));
    const me = (access: string) => (server: ServerProcess): Promise<Reply> => call(server, 'GET', '/v1/me', { token: access });
    for (const session of sessions) await warm([one, two], me(session.access), 200);

    const watching = sessions.flatMap((session) => [one, two].map((server) => firstRefusal(server, me(session.access), (reply) => reply.status === 401, 15_000)));
    const stdout = await incident(cluster(), ['sign-out', '--all']);
    const seen = await Promise.all(watching);
    assert.match(stdout, /sign-out \(all\): \d+ sessions revoked/);
    const revokedAt = await db().selectFrom('sessions').select((eb) => eb.fn.min('revoked_at').as('at')).where('revoked_reason', '=', 'incident_sign_out').executeTakeFirstOrThrow();
    assert.ok(revokedAt.at !== null);
    const elapsed = seen.map((at) => at - new Date(revokedAt.at!).getTime());
    t.diagnostic(`sign-out --all: ${sessions.length} sessions' access tokens refused on instances 1 and 2 after ${elapsed.map((ms) => `${ms} ms`).join(', ')} (max ${Math.max(...elapsed)} ms)`);
    for (const ms of elapsed) assert.ok(ms <= BOUND_MS, `refused only after ${ms} ms (bound ${BOUND_MS} ms)`);
    for (const [index, session] of sessions.entries()) {
      const refreshed = await call(index % 2 === 0 ? two : one, 'POST', '/v1/auth/refresh', { body: { refresh_token: session.refresh } });
      assert.equal(refreshed.status, 401, 'a revoked session does not refresh');
    }
    const live = await db().selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('count')).where('revoked_at', 'is', null).where('expires_at', '>', new Date()).executeTakeFirstOrThrow();
    assert.equal(Number(live.count), 0, 'no live session is left');
    assert.match(await incident(cluster(), ['sign-out', '--all']), /no live session; nothing changed/);
    const summaries = await auditDetails('incident.sign_out') as { sessions_revoked: number }[];
    assert.equal(summaries.length, 2);
    assert.ok(summaries[0]!.sessions_revoked >= sessions.length);
    assert.equal(summaries[1]!.sessions_revoked, 0);
  });
});
