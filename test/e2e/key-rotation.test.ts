// Key rotation while three `gatehouse serve` processes on one PostgreSQL and Redis serve a
// steady load (test/helpers/steady-load.ts), with the operator's own commands run as child
// processes: not one request may fail.
//
// Signing keys: `gatehouse keys rotate-signing`, twice. Each instance reloads its keys at
// least every 30 s and then signs with the new key; a token signed by the new key verifies
// on every instance at once (it was published as `next` one rotation earlier), and a token
// signed before the rotation keeps verifying everywhere (tokens no instance had verified
// before, so no cache answers for the key).
//
// Master key: the rolling procedure of docs/operations.md "Rotating keys". The new key is
// first added behind the old one on every instance (known, not used), then made current on
// every instance, then `gatehouse keys rotate-master` re-wraps every stored key, then the
// old key is removed. Making the new key current on one instance while another does not
// hold it yet fails: an account created on the first has a data key the second cannot
// unwrap, and its login there answers 500.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../helpers/cli.ts';
import { call, instancesPerSuite, postgresEngineForInstances, type Cluster } from '../helpers/instances.ts';
import { kidOf, loadAccounts, startSteadyLoad, type SteadyLoad } from '../helpers/steady-load.ts';
import { CLOCK_TOLERANCE_SECONDS } from '../../src/features/tokens/limits.ts';

const CLIENTS = 3;
/** docs/operations.md: instances pick up a new signing key within 30 s. */
const PICK_UP_BOUND_MS = 30_000 + 2_000;
const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;

interface Diagnostics {
  diagnostic(message: string): void;
}

function cliEnv(cluster: Cluster, overrides: Record<string, string> = {}): Record<string, string> {
  return { ...cluster.env, GATEHOUSE_ENV: 'development', LOG_LEVEL: 'warn', ...overrides };
}

function assertNoFailures(load: SteadyLoad, t: Diagnostics): void {
  t.diagnostic(`answers checked: ${[...load.answered].map(([what, n]) => `${n} ${what}`).join(', ')}; failed: ${load.failures.length}`);
  assert.deepEqual(load.failures, [], `failed requests:\n${load.describeFailures()}`);
}

describe('signing-key rotation while three instances serve', { skip, timeout: 180_000 }, () => {
  const cluster = instancesPerSuite({ count: 3 });

  async function rotateSigning(): Promise<{ activeKid: string; retiredKid: string; doneAt: number; tookMs: number }> {
    const startedAt = performance.now();
    const result = await run(['keys', 'rotate-signing'], cliEnv(cluster()));
    const doneAt = performance.now();
    assert.equal(result.code, 0, result.stderr);
    const match = /active (\S+), next (\S+), retired (\S+)/.exec(result.stdout);
    assert.ok(match !== null, result.stdout);
    // Audited in the rotation's own transaction: one record naming all three keys.
    const audited = await cluster()
      .database.database.db.selectFrom('audit_events')
      .select(['actor_type', 'actor_id', 'outcome', 'details'])
      .where('action', '=', 'signing_key.rotated')
      .where('target_type', '=', 'signing_key')
      .where('target_id', '=', match[1]!)
      .execute();
    assert.equal(audited.length, 1);
    assert.deepEqual([audited[0]?.actor_type, audited[0]?.actor_id, audited[0]?.outcome], ['system', 'cli', 'success']);
    assert.deepEqual(audited[0]?.details, { active_kid: match[1], next_kid: match[2], retired_kid: match[3] });
    return { activeKid: match[1]!, retiredKid: match[3]!, doneAt, tookMs: doneAt - startedAt };
  }

  /** How long after `since` each instance issued its first token signed by `kid`; its last one signed otherwise. */
  async function pickUp(load: SteadyLoad, kid: string, since: number): Promise<{ first: number; lastOld: number }[]> {
    const deadline = since + PICK_UP_BOUND_MS + 5_000;
    for (;;) {
      const firsts = cluster().servers.map((_, index) => load.issued.find((issued) => issued.instance === index && issued.kid === kid));
      if (firsts.every((first) => first !== undefined)) {
        return firsts.map((first, index) => {
          const old = load.issued.filter((issued) => issued.instance === index && issued.kid !== kid && issued.at > since).at(-1);
          return { first: first.at - since, lastOld: old === undefined ? Number.NaN : old.at - since };
        });
      }
      assert.ok(performance.now() < deadline, `not every instance signs with ${kid} ${PICK_UP_BOUND_MS + 5_000} ms after the rotation`);
      await sleep(100);
    }
  }

  it('rotate-signing twice under load: no request fails, new tokens carry the new kid on every instance, old ones keep verifying', { timeout: 90_000 }, async (t) => {
    const servers = cluster().servers;
    const clients = await loadAccounts(cluster(), CLIENTS);
    // Tokens signed before the rotations and shown to no instance until after them.
    const holder = await cluster().account();
    const held: string[] = [];
    for (const server of servers) {
      const login = await call(server, 'POST', '/v1/auth/login', { body: { email: holder.email, password: holder.password } });
      assert.equal(login.status, 200);
      held.push(String(login.json['access_token']));
    }
    const originalKid = kidOf(held[0]!);
    assert.ok(held.every((token) => kidOf(token) === originalKid));

    const load = startSteadyLoad({ servers: () => cluster().servers, clients, signal: t.signal });
    try {
      await sleep(2_000);
      const seen: string[] = [originalKid];
      for (const round of [1, 2]) {
        const rotation = await rotateSigning();
        assert.equal(rotation.retiredKid, seen.at(-1));
        seen.push(rotation.activeKid);
        const times = await pickUp(load, rotation.activeKid, rotation.doneAt);
        t.diagnostic(`rotation ${round} (the command took ${(rotation.tookMs / 1000).toFixed(1)} s): instances signed with ${rotation.activeKid} from ${times.map((time) => `${(time.first / 1000).toFixed(1)} s`).join(', ')} after the command ended (last token with the old key ${times.map((time) => `${(time.lastOld / 1000).toFixed(1)} s`).join(', ')})`);
        for (const time of times) assert.ok(time.first <= PICK_UP_BOUND_MS, `picked up only after ${time.first.toFixed(0)} ms`);
        // Once an instance signs with the new key it never goes back to an older one.
        for (const [index, time] of times.entries()) {
          const back = load.issued.find((issued) => issued.instance === index && issued.at > rotation.doneAt + time.first + 500 && issued.kid !== rotation.activeKid);
          assert.equal(back, undefined, `instance ${index + 1} signed with ${back?.kid} after switching to ${rotation.activeKid}`);
        }
      }

      // A token issued now by each instance carries the newest kid and verifies on all three.
      for (const [index, server] of servers.entries()) {
        const login = await call(server, 'POST', '/v1/auth/login', { body: { email: holder.email, password: holder.password } });
        assert.equal(login.status, 200);
        const token = String(login.json['access_token']);
        assert.equal(kidOf(token), seen.at(-1), `instance ${index + 1}`);
        for (const other of servers) assert.equal((await call(other, 'GET', '/v1/me', { token })).status, 200);
      }
      // The tokens signed two rotations ago still verify, on every instance, each for the first time there.
      for (const token of held) {
        for (const server of servers) {
          const me = await call(server, 'GET', '/v1/me', { token });
          assert.equal(me.status, 200, `a token signed by ${originalKid} on ${server.baseURL}: ${JSON.stringify(me.json)}`);
          assert.equal(me.json['email'], holder.email);
        }
      }
      // ... and stay published until the last of them has expired, with the verifiers' clock tolerance.
      const retired = await cluster().database.database.db.selectFrom('signing_keys').select(['state', 'publish_until']).where('kid', '=', originalKid).executeTakeFirstOrThrow();
      assert.equal(retired.state, 'retired');
      const lastExp = Math.max(...held.map((token) => (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number }).exp));
      assert.ok(retired.publish_until !== null && retired.publish_until.getTime() >= (lastExp + CLOCK_TOLERANCE_SECONDS) * 1000, `published until ${retired.publish_until?.toISOString()}`);
    } finally {
      await load.stop();
    }
    assertNoFailures(load, t);
    const kids = new Set(load.issued.map((issued) => issued.kid));
    t.diagnostic(`${load.issued.length} access tokens issued under the load, by ${kids.size} keys`);
  });
});

describe('master-key rotation while three instances serve', { skip, timeout: 180_000 }, () => {
  const k1 = `k1:${randomBytes(32).toString('base64url')}`;
  const k2 = `k2:${randomBytes(32).toString('base64url')}`;
  const cluster = instancesPerSuite({ count: 3, env: { GATEHOUSE_MASTER_KEY: k1 } });

  /**
   * One instance at a time: out of the rotation, stopped (SIGTERM), started again with
   * `masterKey`, back in once /readyz answers. Returns how long each was stopping and starting.
   */
  async function roll(load: SteadyLoad, masterKey: string, signal: AbortSignal): Promise<string> {
    const took: string[] = [];
    for (let index = 0; index < cluster().servers.length; index += 1) {
      signal.throwIfAborted();
      await load.drain(index);
      const stoppingAt = performance.now();
      await cluster().servers[index]!.stop();
      const startingAt = performance.now();
      await cluster().restart(index, { GATEHOUSE_MASTER_KEY: masterKey });
      took.push(`${((startingAt - stoppingAt) / 1000).toFixed(1)}+${((performance.now() - startingAt) / 1000).toFixed(1)} s`);
      load.restore(index);
      // Serve a while with instances on different configurations.
      await sleep(500);
    }
    return took.join(', ');
  }

  async function wrappedBy(): Promise<Record<string, Record<string, number>>> {
    const db = cluster().database.database.db;
    const count = async (table: 'data_keys' | 'system_keys' | 'signing_keys'): Promise<Record<string, number>> => {
      const rows = await db.selectFrom(table).select(['master_key_id']).execute();
      const counts: Record<string, number> = {};
      for (const row of rows) counts[row.master_key_id] = (counts[row.master_key_id] ?? 0) + 1;
      return counts;
    };
    return { data_keys: await count('data_keys'), system_keys: await count('system_keys'), signing_keys: await count('signing_keys') };
  }

  async function logInEverywhere(account: { email: string; password: string }, on: number): Promise<void> {
    const servers = cluster().servers;
    const login = await call(servers[on]!, 'POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
    assert.equal(login.status, 200, `${account.email} on instance ${on + 1}: ${JSON.stringify(login.json)}`);
    for (const server of servers) {
      const me = await call(server, 'GET', '/v1/me', { token: String(login.json['access_token']) });
      assert.equal(me.status, 200);
      assert.equal(me.json['email'], account.email);
    }
  }

  // About 65 s here (nine restarts of 4-6 s each on a busy 2-core machine); the timeout leaves room.
  it('the rolling procedure under load: no request fails, every stored key ends under k2, sessions and emails survive', { timeout: 120_000 }, async (t) => {
    const clients = await loadAccounts(cluster(), CLIENTS);
    // Accounts and sessions from before the rotation, used again only once k1 is gone.
    const before = [await cluster().account(), await cluster().account()];
    const sessions = await loadAccounts(cluster(), 2);
    const load = startSteadyLoad({ servers: () => cluster().servers, clients, admin: cluster().admin, accountEveryMs: 1_000, signal: t.signal });
    const loadStartedAt = performance.now();
    try {
      await sleep(1_000);
      const added = await roll(load, `${k1},${k2}`, t.signal);
      const promoted = await roll(load, `${k2},${k1}`, t.signal);
      const midway = await wrappedBy();
      const rotatingAt = performance.now();
      const rotated = await run(['keys', 'rotate-master'], cliEnv(cluster(), { GATEHOUSE_MASTER_KEY: `${k2},${k1}` }));
      const rotatingMs = performance.now() - rotatingAt;
      assert.equal(rotated.code, 0, rotated.stderr);
      const after = await wrappedBy();
      for (const [table, counts] of Object.entries(after)) assert.deepEqual(Object.keys(counts), ['k2'], `${table}: ${JSON.stringify(counts)}`);
      const removed = await roll(load, k2, t.signal);
      t.diagnostic(`restarts (stopping+starting) took ${added} (k2 added), ${promoted} (k2 current), ${removed} (k1 removed)`);
      t.diagnostic(`before rotate-master: ${JSON.stringify(midway)}; it took ${(rotatingMs / 1000).toFixed(1)} s: ${rotated.stdout.trim()}`);
      await sleep(1_000);
    } finally {
      await load.stop();
    }
    assertNoFailures(load, t);
    t.diagnostic(`${load.created.length} accounts created under the load, which ran ${((performance.now() - loadStartedAt) / 1000).toFixed(1)} s`);
    // Nothing was wrapped under k1 after rotate-master: every instance had k2 current by then.
    for (const [table, counts] of Object.entries(await wrappedBy())) assert.deepEqual(Object.keys(counts), ['k2'], `${table}: ${JSON.stringify(counts)}`);

    const servers = cluster().servers;
    for (const [n, session] of sessions.entries()) {
      for (const [index, server] of servers.entries()) {
        const refreshed = await call(server, 'POST', '/v1/auth/refresh', { body: { refresh_token: session.refreshToken } });
        assert.equal(refreshed.status, 200, `session ${n + 1} on instance ${index + 1}: ${JSON.stringify(refreshed.json)}`);
        session.refreshToken = String(refreshed.json['refresh_token']);
      }
    }
    // Emails decrypt under k2 alone, for accounts from before and from every phase of the roll.
    for (const [n, account] of [...before, ...load.created].entries()) await logInEverywhere(account, n % servers.length);
  });
});
