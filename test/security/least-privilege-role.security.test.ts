// The server runs as the least-privilege application role from docs/operations.md, and
// that role cannot rewrite the audit trail: the attacker here has taken over the app
// (or its database credentials). The SQL is read from the documentation itself
// (helpers/least-privilege.ts), so the documented grants are the tested ones.
// PostgreSQL only: PGlite has one user and no roles to grant to.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { pruneAuditTrail } from '../../src/core/audit/prune.ts';
import { flushWAL } from '../../src/core/audit/flush.ts';
import { getOrCreateSystemKey } from '../../src/core/crypto/system-keys.ts';
import { openDatabase, type Database } from '../../src/core/db/database.ts';
import { migrate } from '../../src/core/db/migrate.ts';
import { createLogger } from '../../src/core/logging.ts';
import { auditPruneJob } from '../../src/features/retention/audit-prune-job.ts';
import { createAccount } from '../../src/features/users/create-account.ts';
import { captureLines, startTestApp, type TestApp } from '../helpers/app.ts';
import { postgresTestUrl, testEngines, withAdmin, type TestDatabase } from '../helpers/database.ts';
import { documentedSQL } from '../helpers/least-privilege.ts';
import { httpClient, strongPassword, tokenFromMail, uniqueEmail, type Client } from '../helpers/http.ts';
import { meetMfaPolicy } from '../helpers/mfa.ts';

function permissionDenied(object: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof Error && 'code' in error && error.code === '42501' && object.test(error.message);
}

const baseURL = postgresTestUrl();
const engine = testEngines().find((candidate) => candidate.engine === 'postgres');

describe('the least-privilege application role on postgres', { skip: baseURL === null || engine === undefined ? 'PostgreSQL only: set DATABASE_URL_TEST (PGlite has no roles)' : false }, () => {
  const role = `gatehouse_app_${randomBytes(5).toString('hex')}`;
  let owner: TestDatabase | undefined;
  let asApp: Database;
  let app: TestApp | undefined;
  let client: Client;

  before(async () => {
    if (engine === undefined || baseURL === null) return;
    owner = await engine.open();
    const ownerURL = owner.url ?? '';
    const names = { role, database: new URL(ownerURL).pathname.slice(1) };
    await withAdmin(ownerURL, async (admin) => {
      await admin.query(await documentedSQL('create', names));
      await admin.query(await documentedSQL('grants', names));
    });
    const appURL = new URL(ownerURL);
    appURL.username = role;
    asApp = await openDatabase({ engine: 'postgres', url: appURL.toString(), poolMax: 10 });
    const env = { AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000', RATE_LIMIT_MAX: '100000' };
    const started = await startTestApp({ database: asApp, listen: true, env });
    app = started;
    client = httpClient(started.baseURL);
  });

  after(async () => {
    await app?.close();
    if (owner !== undefined) await asApp.close();
    await owner?.cleanup();
    if (baseURL !== null) await withAdmin(baseURL, (admin) => admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`));
  });

  it('starts as the role: its start-up migration finds nothing pending and runs no DDL', async () => {
    assert.deepEqual(await migrate(asApp), []);
    const who = await sql<{ user: string }>`SELECT current_user AS "user"`.execute(asApp.db);
    assert.equal(who.rows[0]?.user, role);
  });

  function started(): TestApp {
    if (app === undefined) throw new Error('the app did not start');
    return app;
  }

  it('serves register, verify, login, refresh, password change, own events and the admin audit routes', async () => {
    const email = uniqueEmail('lp');
    const password = strongPassword();
    assert.equal((await client.request('POST', '/v1/auth/register', { body: { email, password } })).status, 202);
    await started().settle();
    const verified = await client.request('POST', '/v1/auth/verify-email', { body: { token: tokenFromMail(started().mails, email, /Confirm your email/) } });
    assert.equal(verified.status, 200, verified.text);
    const login = await client.request<{ access_token: string; refresh_token: string }>('POST', '/v1/auth/login', { body: { email, password } });
    assert.equal(login.status, 200, login.text);
    const refreshed = await client.request<{ access_token: string }>('POST', '/v1/auth/refresh', { body: { refresh_token: login.json().refresh_token } });
    assert.equal(refreshed.status, 200, refreshed.text);
    const token = refreshed.json().access_token;
    const changed = await client.request('POST', '/v1/me/password', { token, body: { current_password: password, new_password: `${password}!` } });
    assert.equal(changed.status, 204, changed.text);
    assert.equal((await client.request('GET', '/v1/me/events', { token })).status, 200);
    await flushWAL(asApp.db);

    const adminEmail = uniqueEmail('lp-admin');
    const adminPassword = strongPassword();
    const created = await createAccount(started().services.auth, { email: adminEmail, name: null, password: adminPassword, roles: ['admin'], emailVerified: true }, {
      actor: { type: 'system', id: 'test' },
      context: { ip: null, userAgent: null, requestId: null },
    });
    assert.equal(created.kind, 'created');
    const admin = await client.request<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: adminEmail, password: adminPassword } });
    const adminToken = admin.json().access_token;
    // MFA_REQUIRED_ROLES (admin by default): a factor first, in this session.
    await meetMfaPolicy(started(), ['admin'], adminToken);
    assert.equal((await client.request('GET', '/v1/admin/audit?limit=5', { token: adminToken })).status, 200);
    assert.equal((await client.request('GET', '/v1/admin/audit/export', { token: adminToken })).status, 200);
    const verify = await client.request('GET', '/v1/admin/audit/verify', { token: adminToken });
    assert.deepEqual([verify.status, verify.json()['ok']], [200, true]);
  });

  it('cannot UPDATE, DELETE or TRUNCATE audit records, even claiming to prune', async () => {
    const db = asApp.db;
    await assert.rejects(db.updateTable('audit_events').set({ outcome: 'failure' }).where('seq', '=', 1).execute(), permissionDenied(/table audit_events/));
    // The two personal columns reach the trigger (the role may UPDATE them, for erasure and
    // IP_RETENTION_DAYS), which refuses anything but those redactions: not another address,
    // not removing the data of a person whose account exists.
    const newest = await db.selectFrom('audit_events').select('seq').where('personal_digest', 'is not', null).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    const appendOnly = (error: unknown): boolean => error instanceof Error && /append-only/.test(error.message);
    await assert.rejects(db.updateTable('audit_events').set({ ip: '198.51.100.7', user_agent: null }).where('seq', '=', newest.seq).execute(), appendOnly);
    await assert.rejects(db.updateTable('audit_events').set({ ip: null, user_agent: null }).where('seq', '=', newest.seq).execute(), appendOnly);
    await assert.rejects(db.deleteFrom('audit_events').where('seq', '=', 1).execute(), permissionDenied(/table audit_events/));
    await assert.rejects(sql`TRUNCATE audit_events`.execute(db), permissionDenied(/table audit_events/));
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`.execute(trx);
        await trx.deleteFrom('audit_events').execute();
      }),
      permissionDenied(/table audit_events/),
    );
    const key = await getOrCreateSystemKey(db, started().keyring, 'audit-chain');
    await assert.rejects(pruneAuditTrail(db, { key, clock: () => new Date() }, { before: new Date() }), permissionDenied(/audit_/));
    // The server's daily prune (AUDIT_RETENTION_DAYS) under this role: refused by the
    // database, said in the log, nothing removed, the job itself does not fail.
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: captureLines(lines) });
    const before = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    const job = auditPruneJob({ key, clock: () => new Date(), log, retentionDays: 1 });
    assert.equal(await job.run(db, new Date(Date.now() + 30 * 86_400_000)), 0);
    const after = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    assert.equal(Number(after.count), Number(before.count));
    assert.ok(lines.some((line) => line.includes('audit prune skipped')), lines.join('\n'));
  });

  it('cannot write checkpoints, switch triggers off, or run DDL', async () => {
    const db = asApp.db;
    await assert.rejects(
      db.insertInto('audit_checkpoints').values({ id: '01900000-0000-7000-8000-000000000003', through_seq: 1, through_hash: '0'.repeat(64), record_count: 1, created_at: new Date(), key_id: 'k', signature: 'x' }).execute(),
      permissionDenied(/table audit_checkpoints/),
    );
    await assert.rejects(sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(db), permissionDenied(/must be owner/));
    await assert.rejects(sql`CREATE TABLE evil (id int)`.execute(db), permissionDenied(/schema public/));
    await assert.rejects(sql`DROP TABLE audit_events`.execute(db), permissionDenied(/must be owner/));
    await assert.rejects(sql`SET session_replication_role = replica`.execute(db), permissionDenied(/session_replication_role/));
  });
});
