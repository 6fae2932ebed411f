// What the Redis Cluster fault tests (test/fault/redis-cluster*) ask of the instances:
// wrong-password logins, with the subjects chosen by the node their counters live on; a
// logout heard across instances; `gatehouse doctor`'s finding on Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { run } from './cli.ts';
import { strongPassword } from './http.ts';
import { call, logIn, randomClientAddress, refusedAfter, warm, type Reply } from './instances.ts';
import type { ServerProcess } from './server-process.ts';
import type { ThrowawayRedisCluster } from './throwaway-redis-cluster.ts';

/** The Redis key of a rate limit counted per client address. */
export const addressKey = (limit: string, address: string): string => `gatehouse:rl:${limit}:{${address}}`;

export interface Timed extends Reply {
  readonly ms: number;
  readonly retryAfter: string | null;
}

/** A login with a wrong password for a random address, from `from`: 401 when counted and allowed. */
export async function badLogin(server: ServerProcess, from: string): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(`${server.baseURL}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ email: `nobody.${randomBytes(6).toString('hex')}@example.test`, password: 'not the right password at all' }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const doneAt = performance.now();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), doneAt, ms: doneAt - started, retryAfter: response.headers.get('retry-after') };
}

/** A refusal counts as fast below this (test/fault/redis-outage.fault.test.ts). */
export const FAST_MS = 1_000;

/** `answer` is the refusal of a limit that cannot count: 503 service_unavailable with Retry-After, within FAST_MS. */
export function assertFastRefusal(answer: Timed, context = ''): void {
  const where = `${answer.status} ${String(answer.json['code'])} in ${answer.ms.toFixed(0)} ms${context}`;
  assert.equal(answer.status, 503, where);
  assert.equal(answer.json['code'], 'service_unavailable', where);
  assert.ok(Number(answer.retryAfter) >= 1, `${where}: Retry-After ${String(answer.retryAfter)}`);
  assert.ok(answer.ms < FAST_MS, `${where}: not fast`);
}

/** A new client address whose login counters live on the node at `port`. */
export async function addressOn(cluster: ThrowawayRedisCluster, port: number): Promise<string> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const address = randomClientAddress();
    if (await cluster.nodeOf(addressKey('auth-address', address)) === port) return address;
  }
  throw new Error(`no address found on node ${port}`);
}

/**
 * Logs a new user in on `one`, logs out on `two`, and returns how long after `two`
 * answered `one` refused the token (bound: 2 s).
 */
export async function logoutReachesFirst(one: ServerProcess, two: ServerProcess, adminToken: string): Promise<number> {
  const email = `user.${randomBytes(6).toString('hex')}@example.test`;
  const userPassword = strongPassword();
  const created = await call(one, 'POST', '/v1/admin/users', { token: adminToken, body: { email, password: userPassword, email_verified: true, roles: [] } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const { access } = await logIn(one, email, userPassword);
  const me = (server: ServerProcess): Promise<Reply> => call(server, 'GET', '/v1/me', { token: access });
  await warm([one, two], me, 200);
  const loggedOut = await call(two, 'POST', '/v1/auth/logout', { token: access });
  assert.ok(loggedOut.status < 300, `logout: ${loggedOut.status}`);
  return refusedAfter(one, loggedOut.doneAt, () => me(one), (reply) => reply.status === 401, 2_000);
}

/** `gatehouse doctor`'s finding on Redis with `env`, as `status: summary`. */
export async function redisFinding(env: Readonly<Record<string, string>>): Promise<string> {
  const result = await run(['doctor', '--json'], { ...env });
  const report = JSON.parse(result.stdout) as { checks: { name: string; status: string; summary: string }[] };
  const check = report.checks.find((entry) => entry.name === 'redis');
  assert.ok(check !== undefined, result.stdout);
  return `${check.status}: ${check.summary}`;
}
