// The TTL is the bound that holds when the invalidation messages between instances do not
// arrive: three `gatehouse serve` processes on one PostgreSQL database and a redis-server
// of this test's own, which is killed and restarted under them (the shared Redis is never
// touched). A change no instance announces (made in the database directly, as one whose
// publish failed) is refused everywhere within the cache TTL; while Redis is down nothing
// crashes (every route fails closed, core/http/rate-limit.ts); a revocation made during
// the outage is never served as live once Redis is back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, instancesPerSuite, logIn, postgresEngineForInstances, refusedAfter, warm } from '../helpers/instances.ts';
import type { ServerProcess } from '../helpers/server-process.ts';

// The caches keep an answer for at most 1 s; the margin is one request and scheduling.
const TTL_BOUND_MS = 1_000;
const MARGIN_MS = 400;

describe('cache invalidation without the messages', { skip: postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false, timeout: 150_000 }, () => {
  const cluster = instancesPerSuite({ count: 3 });

  async function signedIn(): Promise<{ access: string; sessionId: string }> {
    const user = await cluster().account();
    return logIn(cluster().servers[0]!, user.email, user.password);
  }

  /** Revokes a session as a change whose announcement was lost: no instance is told. */
  async function revokeUnannounced(sessionId: string): Promise<void> {
    await cluster().database.database.db.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', sessionId).execute();
  }

  const me = (server: ServerProcess, access: string): ReturnType<typeof call> => call(server, 'GET', '/v1/me', { token: access });

  it('a change no instance announced is refused on every instance within the cache TTL', async (t) => {
    const { servers } = cluster();
    const { access, sessionId } = await signedIn();
    await warm(servers, (server) => me(server, access), 200);
    const revokedAt = performance.now();
    await revokeUnannounced(sessionId);
    const elapsed = await Promise.all(servers.map((server) => refusedAfter(server, revokedAt, () => me(server, access), (reply) => reply.status === 401, 3_000)));
    t.diagnostic(`refused ${elapsed.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} after the unannounced revocation`);
    for (const ms of elapsed) assert.ok(ms <= TTL_BOUND_MS + MARGIN_MS, `refused only after ${ms.toFixed(0)} ms`);
  });

  it('Redis stopped: nothing crashes, and a session revoked meanwhile is refused everywhere within the TTL once it is back', { timeout: 60_000 }, async (t) => {
    const { servers } = cluster();
    const revoked = await signedIn();
    const kept = await signedIn();
    await warm(servers, (server) => me(server, revoked.access), 200);
    const server = cluster().redis;
    await server.kill();
    for (const instance of servers) {
      await refusedAfter(instance, performance.now(), () => me(instance, revoked.access), (reply) => reply.status === 503, 5_000);
      assert.equal((await call(instance, 'GET', '/healthz')).status, 200);
    }
    const revokedAt = performance.now();
    await revokeUnannounced(revoked.sessionId);
    // Shorter than the TTL: an entry read before the outage may still be live when Redis
    // is back, until the instance's subscriber resubscribes (and clears) or it expires.
    await sleep(300);
    const restartedAt = performance.now();
    await server.restart();
    const lastLive: number[] = [];
    await Promise.all(servers.map(async (instance) => {
      let live = Number.NEGATIVE_INFINITY;
      for (const deadline = performance.now() + 10_000; ; ) {
        const reply = await me(instance, revoked.access);
        if (reply.status === 401) break;
        assert.ok([200, 503].includes(reply.status), `${instance.baseURL}: ${reply.status}`);
        if (reply.status === 200) live = reply.doneAt - revokedAt;
        assert.ok(performance.now() < deadline, `${instance.baseURL}: not refused 10 s after the restart`);
        await sleep(10);
      }
      lastLive.push(live);
      assert.equal((await me(instance, kept.access)).status, 200, 'a live session still works');
    }));
    t.diagnostic(`served as live at the latest ${lastLive.map((ms) => (ms === Number.NEGATIVE_INFINITY ? 'never' : `${ms.toFixed(0)} ms`)).join(', ')} after the revocation`);
    for (const ms of lastLive) assert.ok(ms <= TTL_BOUND_MS + MARGIN_MS, `the revoked session was served as live ${ms.toFixed(0)} ms after its revocation`);
    t.diagnostic(`every instance served again ${(performance.now() - restartedAt).toFixed(0)} ms after the restart began`);
    // The subscriber's own outage is logged apart from the rate limiter's, and its recovery.
    for (const instance of servers) {
      const subscriberLines = instance.stdout.filter((line) => line.includes('"component":"redis-subscriber"'));
      assert.ok(subscriberLines.some((line) => /"level":"(?:warn|error)"/.test(line)), 'the subscriber outage is logged');
      assert.ok(subscriberLines.some((line) => line.includes('redis connection restored')), 'and its end');
      instance.assertAlive();
    }
  });
});
