// Security webhooks end to end: real failed logins lock an account, and a receiver on
// loopback gets the signed `auth.locked` event, again after a failure, and after a
// server restart in between. On PGlite and on PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { enrolTotp } from '../helpers/mfa.ts';
import { FAST_WEBHOOKS, startReceiver, testWebhookSecret, webhookRows, type ReceivedWebhook, type Receiver } from '../../src/features/webhooks/webhooks.fixtures.ts';
import { openDatabase, type Database } from '../../src/core/db/database.ts';
import { migrate } from '../../src/core/db/migrate.ts';
import { createAccount } from '../../src/features/users/create-account.ts';
import { verifyWebhookSignature } from '../../src/features/webhooks/signature.ts';
import type { TestAppOptions } from '../helpers/app.ts';
import { testEngines, type TestDatabase, type TestEngine } from '../helpers/database.ts';
import type { EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { manualClock, registerVerified, startAppOn } from '../security/security.fixtures.ts';

const THRESHOLD = 2;
const WRONG_PASSWORD = 'not the password, and never in a webhook';

function webhookOptions(receiver: Receiver, secret: string, extra: TestAppOptions = {}): TestAppOptions {
  return {
    ...extra,
    env: { SECURITY_WEBHOOK_URLS: receiver.url, SECURITY_WEBHOOK_SECRET: secret, LOCKOUT_THRESHOLD: String(THRESHOLD) },
    webhookTuning: extra.webhookTuning ?? FAST_WEBHOOKS,
  };
}

/** Registers an account and fails its login until it locks; returns the email. */
async function lockAnAccount(app: EngineApp): Promise<string> {
  const email = uniqueEmail('hooked');
  await registerVerified(app, email, strongPassword());
  for (let attempt = 0; attempt < THRESHOLD; attempt++) {
    const response = await app.client.request('POST', '/v1/auth/login', { body: { email, password: WRONG_PASSWORD } });
    assert.equal(response.status, 401, response.text);
  }
  return email;
}

/**
 * Opens the same stored database again and again, as a restarted server would: on
 * PostgreSQL a new pool on the suite's database, on PGlite a data directory on disk.
 */
async function reopenableStore(engine: TestEngine, test: TestDatabase): Promise<{ open(): Promise<Database>; cleanup(): Promise<void> }> {
  if (engine.engine === 'postgres' && test.url !== null) {
    const url = test.url;
    return { open: () => openDatabase({ engine: 'postgres', url, poolMax: 5 }), cleanup: async () => undefined };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'gh-webhooks-'));
  return {
    async open() {
      const database = await openDatabase({ engine: 'pglite', dataDir });
      await migrate(database);
      return database;
    },
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

function signatureOf(request: ReceivedWebhook): string | null {
  const header = request.headers['gatehouse-signature'];
  return typeof header === 'string' ? header : null;
}

function assertSigned(request: ReceivedWebhook, secret: string, now: Date): Record<string, unknown> {
  assert.equal(verifyWebhookSignature(secret, signatureOf(request), request.body, { toleranceSeconds: 300, now }), true, 'a valid signature');
  return JSON.parse(request.body) as Record<string, unknown>;
}

for (const engine of testEngines()) {
  describe(`security webhooks over HTTP on ${engine.engine}`, () => {
    let test: TestDatabase;
    let receiver: Receiver;
    const running = new Set<EngineApp>();
    before(async () => {
      test = await engine.open();
    });
    after(() => test.cleanup());
    // A receiver per test: an app left from another test can never deliver to it.
    beforeEach(async () => {
      receiver = await startReceiver();
    });
    afterEach(async () => {
      for (const app of running) await stop(app);
      await receiver.close();
    });

    async function start(options: TestAppOptions, database?: Database): Promise<EngineApp> {
      const app = await startAppOn(database === undefined ? test : { database, url: null, cleanup: async () => undefined }, options);
      running.add(app);
      return app;
    }

    /** Closes as the server does on SIGTERM (the app, then the webhook dispatcher); the database stays. */
    async function stop(app: EngineApp): Promise<void> {
      running.delete(app);
      await app.close();
    }

    it('failed logins that lock an account send a signed auth.locked, and nothing for the failures themselves', async () => {
      const secret = testWebhookSecret();
      const app = await start(webhookOptions(receiver, secret));
      const email = await lockAnAccount(app);
      const [request] = await receiver.waitFor(1);
      const event = assertSigned(request!, secret, new Date());
      assert.equal(event['type'], 'auth.locked');
      assert.deepEqual(event['actor'], { type: 'system', id: null });
      assert.equal(request!.headers['gatehouse-event-id'], event['id']);
      const record = await test.database.db.selectFrom('audit_events').selectAll().where('id', '=', String(event['id'])).executeTakeFirstOrThrow();
      assert.equal(record.action, 'auth.locked');
      assert.deepEqual(event['target'], { type: 'user', id: record.target_id });
      assert.equal(event['audit_seq'], record.seq);
      // The client's address stays in the audit trail; bodies carry it only with WEBHOOK_INCLUDE_IP=true.
      assert.equal(record.ip, '127.0.0.1');
      assert.equal(event['ip'], null);
      assert.equal(typeof (event['details'] as Record<string, unknown>)['locked_until'], 'string');
      for (const secretText of [WRONG_PASSWORD, email, secret]) assert.equal(request!.body.includes(secretText), false);
      await new Promise((resolve) => setTimeout(resolve, 5 * FAST_WEBHOOKS.pollIntervalMs));
      assert.equal(receiver.received.length, 1, 'auth.login_failed is not a webhook');
      await stop(app);
    });

    it('an admin login and a role assignment send signed events; an ordinary login sends none', async () => {
      const secret = testWebhookSecret();
      const app = await start(webhookOptions(receiver, secret));
      const adminEmail = uniqueEmail('hook-admin');
      const password = strongPassword();
      const created = await createAccount(app.services.auth, { email: adminEmail, name: null, password, roles: ['admin'], emailVerified: true }, {
        actor: { type: 'system' },
        context: { ip: null, userAgent: null, requestId: null },
      });
      assert.equal(created.kind, 'created');
      const plainEmail = uniqueEmail('hook-plain');
      await registerVerified(app, plainEmail, password);
      assert.equal((await app.client.request('POST', '/v1/auth/login', { body: { email: plainEmail, password } })).status, 200);
      const login = await app.client.request<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: adminEmail, password } });
      assert.equal(login.status, 200, login.text);
      const [adminLogin] = await receiver.waitFor(1);
      const event = assertSigned(adminLogin!, secret, new Date());
      assert.equal(event['type'], 'auth.login_succeeded');
      assert.deepEqual((event['details'] as Record<string, unknown>)['admin'], true);
      const plainId = (await app.services.auth.db.selectFrom('users').select('id').where('email_index', '=', app.services.auth.blindIndex.email(plainEmail)).executeTakeFirstOrThrow()).id;
      // MFA_REQUIRED_ROLES: the admin enrols a factor in this session before administering.
      await enrolTotp(app, login.json().access_token);
      const assigned = await app.client.request('PUT', `/v1/admin/users/${plainId}/roles/auditor`, { token: login.json().access_token });
      assert.equal(assigned.status, 200, assigned.text);
      const [, roleEvent] = await receiver.waitFor(2);
      const role = assertSigned(roleEvent!, secret, new Date());
      assert.equal(role['type'], 'role.assigned');
      assert.deepEqual(role['target'], { type: 'user', id: plainId });
      await new Promise((resolve) => setTimeout(resolve, 5 * FAST_WEBHOOKS.pollIntervalMs));
      assert.equal(receiver.received.length, 2, 'the ordinary login sent nothing');
      await stop(app);
    });

    it('a receiver answering 500 gets the event again after the backoff, freshly signed', async () => {
      const secret = testWebhookSecret();
      const time = manualClock();
      const app = await start(webhookOptions(receiver, secret, { clock: time.clock }));
      receiver.reply(500);
      await lockAnAccount(app);
      const [first] = await receiver.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 3 * FAST_WEBHOOKS.pollIntervalMs));
      assert.equal(receiver.received.length, 1, 'no retry before the backoff (30 s plus jitter) has passed');
      const failures = await app.services.metrics.webhookFailures.get();
      assert.equal(failures.values[0]?.value, 1, 'the failed delivery is counted in gatehouse_webhook_failures_total');
      time.advanceSeconds(37);
      const [, second] = await receiver.waitFor(2);
      assert.equal(second!.body, first!.body);
      assert.equal(second!.headers['gatehouse-event-id'], first!.headers['gatehouse-event-id']);
      assertSigned(second!, secret, time.clock());
      await stop(app);
      const [row] = await webhookRows(test.database.db, { eventId: String(first!.headers['gatehouse-event-id']) });
      assert.equal(row!.attempts, 2);
      assert.notEqual(row!.delivered_at, null);
    });

    it('an event queued while no server delivers arrives after a restart: new process state, database reopened', async () => {
      const secret = testWebhookSecret();
      const store = await reopenableStore(engine, test);
      try {
        let database = await store.open();
        const stopped = await start(webhookOptions(receiver, secret, { startWebhooks: false }), database);
        await lockAnAccount(stopped);
        await stop(stopped);
        const queued = (await webhookRows(database.db, { urls: [receiver.url] })).filter((row) => row.delivered_at === null);
        assert.equal(queued.length, 1, 'queued in the database, not in the closed process');
        assert.equal(receiver.received.length, 0);
        await database.close();

        database = await store.open();
        const restarted = await start(webhookOptions(receiver, secret), database);
        const [request] = await receiver.waitFor(1);
        const event = assertSigned(request!, secret, new Date());
        assert.equal(event['id'], queued[0]!.event_id);
        await stop(restarted);
        await database.close();
      } finally {
        await store.cleanup();
      }
    });

    it('a hanging receiver never delays the request, and a restart delivers what shutdown cut short', async () => {
      const secret = testWebhookSecret();
      const first = await start(webhookOptions(receiver, secret, { webhookTuning: { ...FAST_WEBHOOKS, timeoutMs: 30_000 } }));
      receiver.reply('hang');
      const started = performance.now();
      await lockAnAccount(first);
      const [hung] = await receiver.waitFor(1);
      assert.ok(performance.now() - started < 15_000, 'the logins answered while the receiver still hangs');
      await stop(first);

      const second = await start(webhookOptions(receiver, secret));
      const [, delivered] = await receiver.waitFor(2);
      assert.equal(delivered!.headers['gatehouse-event-id'], hung!.headers['gatehouse-event-id']);
      assertSigned(delivered!, secret, new Date());
      await stop(second);
    });
  });
}
