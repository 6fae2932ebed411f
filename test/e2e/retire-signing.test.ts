// `gatehouse keys retire-signing KID --now` while two `gatehouse serve` processes share one
// PostgreSQL database: a token signed by the retired key must be refused on both within
// seconds, not when it expires and not at the instances' 30 s key reload.
//
// With Redis the change is announced on the cache-invalidation channel (tag
// `signing_keys`); without it, each instance's withdrawal check (every 5 s) finds it.
// Latency is measured from the audit record of the retirement (written in the change's
// transaction, so just before the commit) to the first refusal read from each instance,
// which is polled from before the command starts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../helpers/cli.ts';
import { call, instancesPerSuite, logIn, postgresEngineForInstances, startInstances, type Instances } from '../helpers/instances.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { kidOf } from '../helpers/steady-load.ts';
import { strongPassword } from '../helpers/http.ts';
import { sampleSum } from '../helpers/metrics.ts';
import { WITHDRAWAL_CHECK_MS } from '../../src/features/tokens/watch-signing-keys.ts';

const METRICS_TOKEN = randomBytes(32).toString('base64url');
const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;
/** What the brief and docs/operations.md promise with Redis. */
const REDIS_BOUND_MS = 5_000;
/** Without Redis: one check interval, plus the check's query and this test's polling. */
const FALLBACK_BOUND_MS = WITHDRAWAL_CHECK_MS + 1_000;

interface Deployment {
  readonly servers: readonly ServerProcess[];
  readonly env: Readonly<Record<string, string>>;
  readonly database: Instances['database'];
  readonly admin: string;
}

/** Cache-invalidation messages from other instances this one applied (null without a metrics token). */
async function messagesReceived(server: ServerProcess, env: Deployment['env']): Promise<number | null> {
  if (env['METRICS_TOKEN'] === undefined) return null;
  const response = await fetch(`${server.baseURL}/metrics`, { headers: { authorization: `Bearer ${env['METRICS_TOKEN']}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  return sampleSum(await response.text(), 'gatehouse_cache_invalidation_messages_total', { event: 'received' });
}

interface Diagnostics {
  diagnostic(message: string): void;
}

function cliEnv(deployment: Deployment): Record<string, string> {
  return { ...deployment.env, GATEHOUSE_ENV: 'development', LOG_LEVEL: 'warn' };
}

async function newAccount(deployment: Deployment): Promise<{ email: string; password: string }> {
  const email = `leak.${randomBytes(6).toString('hex')}@example.test`;
  const password = strongPassword();
  const created = await call(deployment.servers[0]!, 'POST', '/v1/admin/users', { token: deployment.admin, body: { email, password, email_verified: true } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return { email, password };
}

async function jwksKids(server: ServerProcess): Promise<string[]> {
  const reply = await call(server, 'GET', '/.well-known/jwks.json');
  assert.equal(reply.status, 200);
  return (reply.json['keys'] as { kid: string }[]).map((key) => key.kid);
}

/** Polls GET /v1/me with `token` until it is refused; the wall-clock time of that answer. */
async function firstRefusal(server: ServerProcess, token: string, deadline: number): Promise<number> {
  for (;;) {
    const reply = await call(server, 'GET', '/v1/me', { token });
    if (reply.status === 401) return Date.now();
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.ok(Date.now() < deadline, `${server.baseURL} still accepts the retired key's token`);
    await sleep(5);
  }
}

async function retiredAt(deployment: Deployment, kid: string): Promise<number> {
  const row = await deployment.database.database.db
    .selectFrom('audit_events')
    .select(['occurred_at', 'actor_type', 'actor_id', 'outcome', 'details'])
    .where('action', '=', 'signing_key.retired')
    .where('target_type', '=', 'signing_key')
    .where('target_id', '=', kid)
    .executeTakeFirstOrThrow();
  assert.deepEqual([row.actor_type, row.actor_id, row.outcome], ['system', 'cli', 'success']);
  assert.equal(row.details['previous_state'], 'active');
  return new Date(row.occurred_at).getTime();
}

/** The whole scenario, asserting each instance refuses the retired key's token within `boundMs` of the retirement. */
async function retireWhileServing(deployment: Deployment, t: Diagnostics, boundMs: number, channel: 'redis' | 'check'): Promise<void> {
  const [one, two] = deployment.servers;
  assert.ok(one !== undefined && two !== undefined);
  const both: readonly ServerProcess[] = [one, two];
  const user = await newAccount(deployment);
  const login = await call(one, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
  assert.equal(login.status, 200);
  const leaked = String(login.json['access_token']);
  let refreshToken = String(login.json['refresh_token']);
  const kid = kidOf(leaked);
  // Verified (and so cached as verified) on both.
  for (const server of [one, two, one, two]) assert.equal((await call(server, 'GET', '/v1/me', { token: leaked })).status, 200);
  for (const server of [one, two]) assert.ok((await jwksKids(server)).includes(kid));

  const receivedBefore = await Promise.all(both.map((server) => messagesReceived(server, deployment.env)));
  const deadline = Date.now() + 60_000;
  const refusals = [one, two].map((server) => firstRefusal(server, leaked, deadline));
  const started = performance.now();
  const retired = await run(['keys', 'retire-signing', kid, '--now'], cliEnv(deployment));
  const tookMs = performance.now() - started;
  assert.equal(retired.code, 0, retired.stderr);
  assert.ok(retired.stdout.includes(`signing key ${kid} retired now (it was active)`), retired.stdout);
  assert.match(retired.stdout, channel === 'redis' ? /every instance told over Redis/ : /no REDIS_URL: each instance notices within 5 s/);
  assert.match(retired.stdout, /sessions are not signed out/);
  const at = await retiredAt(deployment, kid);
  const elapsed = (await Promise.all(refusals)).map((refusedAt) => refusedAt - at);
  t.diagnostic(`${channel}: token of the retired key refused on instance 1 after ${elapsed[0]} ms, instance 2 after ${elapsed[1]} ms (from the audited retirement; the command took ${tookMs.toFixed(0)} ms, mostly starting Node); bound ${boundMs} ms`);
  for (const ms of elapsed) assert.ok(ms <= boundMs, `refused only ${ms} ms after the retirement (bound ${boundMs} ms)`);
  if (channel === 'redis') {
    // Redis, not the 5 s check, told them: each applied the announcement.
    const receivedAfter = await Promise.all(both.map((server) => messagesReceived(server, deployment.env)));
    for (const [index, count] of receivedAfter.entries()) assert.ok((count ?? 0) > (receivedBefore[index] ?? 0), `instance ${index + 1} received no message`);
  }
  // And it stays refused, from the cache too.
  for (const server of [one, two, one, two]) assert.equal((await call(server, 'GET', '/v1/me', { token: leaked })).status, 401);

  // The JWKS of both no longer lists it.
  for (const server of [one, two]) assert.ok(!(await jwksKids(server)).includes(kid), `${server.baseURL} still publishes ${kid}`);

  // A new login on each instance signs under the new key, verified on both.
  const issued: string[] = [];
  for (const server of [one, two]) {
    const fresh = await logIn(server, user.email, user.password);
    assert.notEqual(kidOf(fresh.access), kid);
    issued.push(fresh.access);
    for (const other of both) assert.equal((await call(other, 'GET', '/v1/me', { token: fresh.access })).status, 200, other.baseURL);
  }
  assert.equal(kidOf(issued[0]!), kidOf(issued[1]!));

  // The session from before is not signed out: its refresh works and yields a token under the new key.
  for (const server of [two, one]) {
    const refreshed = await call(server, 'POST', '/v1/auth/refresh', { body: { refresh_token: refreshToken } });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
    refreshToken = String(refreshed.json['refresh_token']);
    const access = String(refreshed.json['access_token']);
    assert.equal(kidOf(access), kidOf(issued[0]!));
    for (const other of both) assert.equal((await call(other, 'GET', '/v1/me', { token: access })).status, 200, other.baseURL);
  }

  // Idempotent: a second run changes nothing and says so.
  const again = await run(['keys', 'retire-signing', kid, '--now'], cliEnv(deployment));
  assert.equal(again.code, 0, again.stderr);
  assert.ok(again.stdout.includes(`signing key ${kid} is already retired (since `), again.stdout);
  const audited = await deployment.database.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'signing_key.retired').where('target_id', '=', kid).execute();
  assert.equal(audited.length, 1);
}

describe('retiring a leaked signing key while two instances serve, with Redis', { skip, timeout: 240_000 }, () => {
  const cluster = instancesPerSuite({ count: 2, env: { METRICS_TOKEN } });
  const deployment = (): Deployment => cluster();

  it(`the retired key's tokens are refused on both within ${REDIS_BOUND_MS} ms; new logins and refreshes sign under the new key`, async (t) => {
    await retireWhileServing(deployment(), t, REDIS_BOUND_MS, 'redis');
  });

  it('the command refuses a kid that does not exist, a malformed one, and a missing --now, changing nothing', async () => {
    const env = cliEnv(deployment());
    const before = await deployment().database.database.db.selectFrom('signing_keys').select(['kid', 'state']).orderBy('kid').execute();
    const unknown = await run(['keys', 'retire-signing', 'AAAAAAAAAAAAAAAAAAAAAA', '--now'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no signing key AAAAAAAAAAAAAAAAAAAAAA: nothing retired/);
    const malformed = await run(['keys', 'retire-signing', "x' OR 1=1 --", '--now'], env);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /is not a signing key id/);
    const active = before.find((row) => row.state === 'active');
    assert.ok(active !== undefined);
    const withoutNow = await run(['keys', 'retire-signing', active.kid], env);
    assert.equal(withoutNow.code, 2);
    assert.match(withoutNow.stderr, /needs --now/);
    const afterwards = await deployment().database.database.db.selectFrom('signing_keys').select(['kid', 'state']).orderBy('kid').execute();
    assert.deepEqual(afterwards, before);
  });
});

describe('retiring a leaked signing key while two instances serve, without Redis', { skip, timeout: 240_000 }, () => {
  let instances: Instances | null = null;
  let admin = '';
  before(async () => {
    instances = await startInstances({ count: 2, redisURL: null });
    admin = (await logIn(instances.servers[0]!, instances.admin.email, instances.admin.password)).access;
  }, { timeout: 90_000 });
  after(async () => {
    for (const server of instances?.servers ?? []) server.assertAlive();
    await instances?.close();
  });

  it(`each instance's withdrawal check refuses the retired key's tokens within ${FALLBACK_BOUND_MS} ms`, async (t) => {
    assert.ok(instances !== null);
    await retireWhileServing({ servers: instances.servers, env: instances.env, database: instances.database, admin }, t, FALLBACK_BOUND_MS, 'check');
  });
});

