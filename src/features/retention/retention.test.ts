// The retention purges delete exactly what is due and nothing else, and a scheduled job
// runs on one instance at a time, however many poll.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { changesFor, keyLookup, testDeps } from '../../core/audit/audit.fixtures.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { createBlindIndex } from '../../core/crypto/blind-index.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import { loadDataKey } from '../../core/crypto/envelope.ts';
import { createScheduler } from '../../core/jobs/scheduler.ts';
import type { DB } from '../../core/db/database.ts';
import { createLogger } from '../../core/logging.ts';
import { assignRole } from '../authorization/index.ts';
import { openDevices, sealDevice } from '../sessions/index.ts';
import { insertUser } from '../users/index.ts';
import { auditPruneJob } from './audit-prune-job.ts';
import { retentionJobs } from './jobs.ts';

const DAY = 86_400_000;
const crypto = { keyring: createKeyring([{ id: 'test', key: randomBytes(32) }]), blindIndex: createBlindIndex(randomBytes(32)) };
const quiet = createLogger({ level: 'silent' });
const ago = (now: Date, days: number): Date => new Date(now.getTime() - days * DAY);
// One audit key for the suite's database, so its chain verifies across tests.
const audit = testDeps();

async function newUser(db: DB, now: Date, options: { readonly verified?: boolean } = {}): Promise<string> {
  const id = await insertUser(db, crypto, { email: `retention.${randomBytes(6).toString('hex')}@example.test`, name: 'Someone', passwordHash: null, emailVerified: options.verified ?? true, now });
  assert.ok(id !== null);
  return id;
}

async function session(db: DB, userId: string, ended: { revokedAt?: Date; expiresAt?: Date }, now: Date): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('sessions')
    .values({
      id,
      user_id: userId,
      created_at: ago(now, 60),
      last_used_at: ago(now, 40),
      idle_expires_at: ended.expiresAt ?? new Date(now.getTime() + DAY),
      expires_at: ended.expiresAt ?? new Date(now.getTime() + DAY),
      revoked_at: ended.revokedAt ?? null,
      revoked_reason: ended.revokedAt === undefined ? null : 'logout',
      auth_method: 'password',
    })
    .execute();
  await db.insertInto('refresh_tokens').values({ token_hash: randomBytes(32).toString('base64url'), session_id: id, created_at: ago(now, 60) }).execute();
  return id;
}

async function run(db: DB, name: string, now: Date): Promise<number> {
  const job = retentionJobs({ change: changesFor(db, audit), keyring: crypto.keyring }).find((candidate) => candidate.name === name);
  assert.ok(job !== undefined, name);
  return job.run(db, now);
}

for (const engine of testEngines()) {
  describe(`retention purges on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('purge-sessions removes sessions ended more than 30 days ago (and their refresh tokens), nothing else', async () => {
      const db = database().db;
      const now = new Date();
      const user = await newUser(db, now);
      const due = [await session(db, user, { revokedAt: ago(now, 31) }, now), await session(db, user, { expiresAt: ago(now, 31) }, now)];
      const kept = [await session(db, user, {}, now), await session(db, user, { revokedAt: ago(now, 29) }, now), await session(db, user, { expiresAt: ago(now, 29) }, now)];
      assert.equal(await run(db, 'purge-sessions', now), 2);
      const left = (await db.selectFrom('sessions').select('id').where('user_id', '=', user).execute()).map((row) => row.id).sort();
      assert.deepEqual(left, [...kept].sort());
      const orphans = await db.selectFrom('refresh_tokens').select('session_id').where('session_id', 'in', due).execute();
      assert.equal(orphans.length, 0);
    });

    it('purge-one-time-tokens removes links used or expired more than a day ago', async () => {
      const db = database().db;
      const now = new Date();
      const user = await newUser(db, now);
      const token = (values: { used_at: Date | null; expires_at: Date }): Promise<unknown> =>
        db.insertInto('one_time_tokens').values({ token_hash: randomBytes(32).toString('base64url'), purpose: 'password_reset', user_id: user, created_at: ago(now, 3), ...values }).execute();
      await token({ used_at: ago(now, 2), expires_at: new Date(now.getTime() + DAY) });
      await token({ used_at: null, expires_at: ago(now, 2) });
      await token({ used_at: null, expires_at: new Date(now.getTime() + DAY) });
      await token({ used_at: ago(now, 0.5), expires_at: new Date(now.getTime() + DAY) });
      assert.equal(await run(db, 'purge-one-time-tokens', now), 2);
      assert.equal((await db.selectFrom('one_time_tokens').select('token_hash').where('user_id', '=', user).execute()).length, 2);
    });

    it('purge-login-challenges removes second-step and WebAuthn challenges expired more than a day ago', async () => {
      const db = database().db;
      const now = new Date();
      const user = await newUser(db, now);
      const challenge = (expires: Date): Promise<unknown> =>
        db.insertInto('mfa_challenges').values({ token_hash: randomBytes(32).toString('base64url'), user_id: user, amr: ['pwd'], lockout_subject: `mfa/${user}`, device_id: null, webauthn_challenge_hash: null, created_at: ago(now, 3), expires_at: expires, used_at: null }).execute();
      await challenge(ago(now, 2));
      await challenge(new Date(now.getTime() + 60_000));
      await db.insertInto('webauthn_challenges').values({ challenge_hash: randomBytes(32).toString('hex'), user_id: null, purpose: 'authenticate', created_at: ago(now, 3), expires_at: ago(now, 2), used_at: null }).execute();
      await db.insertInto('webauthn_challenges').values({ challenge_hash: randomBytes(32).toString('hex'), user_id: null, purpose: 'authenticate', created_at: now, expires_at: new Date(now.getTime() + 60_000), used_at: null }).execute();
      assert.equal(await run(db, 'purge-login-challenges', now), 2);
      assert.equal((await db.selectFrom('mfa_challenges').select('token_hash').where('user_id', '=', user).execute()).length, 1);
    });

    it('purge-lockout-counters forgets counters idle for 30 days, never one that is locking now', async () => {
      const db = database().db;
      const now = new Date();
      const subject = (): string => `retention-${randomBytes(6).toString('hex')}`;
      const [idle, lockedNow, recent] = [subject(), subject(), subject()];
      await db.insertInto('login_failures').values([
        { subject: idle, failures: 2, lock_count: 1, locked_until: ago(now, 31), updated_at: ago(now, 31) },
        { subject: lockedNow, failures: 0, lock_count: 9, locked_until: new Date(now.getTime() + DAY), updated_at: ago(now, 31) },
        { subject: recent, failures: 1, lock_count: 0, locked_until: null, updated_at: ago(now, 5) },
      ]).execute();
      assert.equal(await run(db, 'purge-lockout-counters', now), 1);
      const left = (await db.selectFrom('login_failures').select('subject').where('subject', 'in', [idle, lockedNow, recent]).execute()).map((row) => row.subject).sort();
      assert.deepEqual(left, [lockedNow, recent].sort());
    });

    it('purge-unverified-accounts erases accounts never confirmed after 7 days, holding no role but user: data key shredded, audited', async () => {
      const db = database().db;
      const now = new Date();
      const due = await newUser(db, ago(now, 8), { verified: false });
      await assignRole(db, due, 'user', ago(now, 8));
      await session(db, due, {}, now);
      const recent = await newUser(db, ago(now, 6), { verified: false });
      const confirmed = await newUser(db, ago(now, 30));
      const madeAdmin = await newUser(db, ago(now, 8), { verified: false });
      await assignRole(db, madeAdmin, 'admin', ago(now, 8));
      assert.equal(await run(db, 'purge-unverified-accounts', now), 1);
      const left = (await db.selectFrom('users').select('id').where('id', 'in', [due, recent, confirmed, madeAdmin]).execute()).map((row) => row.id).sort();
      assert.deepEqual(left, [recent, confirmed, madeAdmin].sort());
      assert.equal((await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', due).execute()).length, 0, 'the data key is shredded');
      assert.equal((await db.selectFrom('sessions').select('id').where('user_id', '=', due).execute()).length, 0);
      const record = await db.selectFrom('audit_events').select(['actor_type', 'actor_id', 'action', 'details']).where('target_id', '=', due).executeTakeFirstOrThrow();
      assert.deepEqual(record, { actor_type: 'system', actor_id: 'retention', action: 'user.deleted', details: { reason: 'never_verified', sessions_revoked: 1 } });
      assert.equal((await verifyAuditChain(db, keyLookup(audit.key))).ok, true);
      assert.equal(await run(db, 'purge-unverified-accounts', now), 0, 'nothing left to erase');
    });

    it('truncate-old-addresses cuts the addresses of sessions older than IP_RETENTION_DAYS to their network and removes their user agents', async () => {
      const db = database().db;
      const now = new Date();
      const user = await newUser(db, now);
      const [old, recent] = [await session(db, user, {}, now), await session(db, user, {}, now)];
      const dek = await loadDataKey(db, crypto.keyring, user);
      assert.ok(dek !== null);
      await db.updateTable('sessions').set({ ...sealDevice(dek, old, { ip: '203.0.113.77', userAgent: 'Old/1.0' }), created_at: ago(now, 31) }).where('id', '=', old).execute();
      await db.updateTable('sessions').set({ ...sealDevice(dek, recent, { ip: '203.0.113.78', userAgent: 'Recent/1.0' }), created_at: ago(now, 29) }).where('id', '=', recent).execute();
      assert.ok((await run(db, 'truncate-old-addresses', now)) >= 1);
      const rows = await db.selectFrom('sessions').leftJoin('data_keys', 'data_keys.owner_id', 'sessions.user_id').select(['sessions.id', 'sessions.user_id', 'ip_sealed', 'user_agent_sealed', 'device_minimized_at', 'data_keys.wrapped_key']).where('sessions.id', 'in', [old, recent]).execute();
      const devices = openDevices(crypto.keyring, rows);
      assert.deepEqual(devices.get(old), { ip: '203.0.113.0/24', userAgent: null });
      assert.deepEqual(devices.get(recent), { ip: '203.0.113.78', userAgent: 'Recent/1.0' });
      assert.ok(rows.find((row) => row.id === old)?.device_minimized_at, 'marked, so it is not opened again');
      assert.equal(rows.find((row) => row.id === recent)?.device_minimized_at, null);
      // Sealed, never in clear: the stored value names neither the address nor the agent.
      for (const row of rows) assert.ok(!String(row.ip_sealed).includes('203.0.113') && !String(row.user_agent_sealed).includes('Recent'));
    });

    it('a due job runs on one of two schedulers polling at once, and again only after its interval', async () => {
      const db = database().db;
      let time = Date.now();
      const clock = (): Date => new Date(time);
      let runs = 0;
      const job = { name: `count-${randomBytes(3).toString('hex')}`, everySeconds: 3600, description: 'test', run: () => Promise.resolve((runs += 1)) };
      const [a, b] = [createScheduler({ db, clock, log: quiet, jobs: [job] }), createScheduler({ db, clock, log: quiet, jobs: [job] })];
      const ran = await Promise.all([a.runDue(), b.runDue(), a.runDue(), b.runDue()]);
      assert.equal(runs, 1, JSON.stringify(ran));
      time += 3599_000;
      assert.deepEqual(await a.runDue(), [], 'not due yet');
      time += 2000;
      assert.deepEqual(await b.runDue(), [job.name]);
      assert.equal(runs, 2);
      assert.equal(await a.runNow('no-such-job'), null);
    });
  });

  // A database of its own: pruning removes a prefix of the chain, so the old records must come first.
  describe(`audit retention on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('prune-audit-trail removes records older than AUDIT_RETENTION_DAYS behind a checkpoint, and the chain still verifies', async () => {
      const db = database().db;
      const now = new Date();
      const old = changesFor(db, { key: audit.key, clock: () => ago(now, 40) });
      await old({ ip: null, userAgent: null, requestId: null }, ({ audit: record }) => {
        for (let n = 0; n < 3; n += 1) record({ actor: { type: 'system' }, action: 'test.old', outcome: 'success' });
        return Promise.resolve();
      });
      await changesFor(db, audit)({ ip: null, userAgent: null, requestId: null }, ({ audit: record }) => {
        record({ actor: { type: 'system' }, action: 'test.recent', outcome: 'success' });
        return Promise.resolve();
      });
      const job = auditPruneJob({ key: audit.key, clock: () => now, log: quiet, retentionDays: 30 });
      assert.ok((await job.run(db, now)) >= 3);
      assert.equal((await db.selectFrom('audit_events').select('seq').where('action', '=', 'test.old').execute()).length, 0);
      assert.equal((await db.selectFrom('audit_events').select('seq').where('action', '=', 'test.recent').execute()).length, 1);
      assert.equal((await verifyAuditChain(db, keyLookup(audit.key))).ok, true);
      assert.equal(await job.run(db, now), 0, 'nothing older is left');
    });
  });
}
