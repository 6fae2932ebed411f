// A steady load on several instances, as clients behind a load balancer make it while an
// operator rotates keys or rolls a restart: each client logs in on one instance and reads
// /v1/me with that token on every instance, refreshes a session it has held since before
// the load, and an admin now and then creates an account on each instance that then logs
// in on another (a new data key, wrapped by the instance that created it, read by others).
// Every answer is checked, status and content; anything else is kept as a failure saying
// where and when. An instance is taken out of the rotation (no new requests, the ones in
// flight answered) before it is stopped and put back once it is ready again, as a load
// balancer does: a refused connection to an instance in the rotation is a failure.
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { strongPassword } from './http.ts';
import assert from 'node:assert/strict';
import { call, type Cluster, type Reply } from './instances.ts';
import type { ServerProcess } from './server-process.ts';

export interface LoadAccount {
  readonly email: string;
  readonly password: string;
  /** A session logged in before the load, refreshed throughout it. */
  refreshToken: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly kid: string;
  readonly instance: number;
  /** performance.now() when the answer carrying it was read. */
  readonly at: number;
}

export interface LoadFailure {
  /** Milliseconds since the load started. */
  readonly at: number;
  readonly instance: number;
  readonly what: string;
  readonly detail: string;
}

export interface SteadyLoad {
  /** Every access token an instance issued under the load, in the order they came. */
  readonly issued: readonly IssuedToken[];
  readonly failures: readonly LoadFailure[];
  /** The accounts the admin created under the load (each logged in once, everywhere). */
  readonly created: readonly { readonly email: string; readonly password: string }[];
  /** Answers checked, by kind of request. */
  readonly answered: ReadonlyMap<string, number>;
  /** Takes instance `index` out of the rotation and resolves once its requests are answered. */
  drain(index: number): Promise<void>;
  /** Puts instance `index` back into the rotation. */
  restore(index: number): void;
  /** Ends the load once every client has finished its current step. */
  stop(): Promise<void>;
  /** The failures, one a line, for an assertion message. */
  describeFailures(): string;
}

export interface SteadyLoadOptions {
  /** The instances, read at each request (a restarted one replaces its entry). */
  readonly servers: () => readonly ServerProcess[];
  readonly clients: readonly LoadAccount[];
  /** An admin's access token, for creating accounts; none are created without it. */
  readonly admin?: string;
  /** A pause between each client's rounds, to keep the machine's CPU for the servers. */
  readonly pauseMs?: number;
  readonly accountEveryMs?: number;
  /** Ends the load too (the test's signal: a test that timed out leaves nothing running). */
  readonly signal?: AbortSignal;
}

/** Accounts for the load, each with a session logged in now and refreshed under the load. */
export async function loadAccounts(cluster: Cluster, count: number): Promise<LoadAccount[]> {
  const accounts: LoadAccount[] = [];
  for (let n = 0; n < count; n += 1) {
    const user = await cluster.account();
    const login = await call(cluster.servers[n % cluster.servers.length]!, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(login.status, 200);
    accounts.push({ email: user.email, password: user.password, refreshToken: String(login.json['refresh_token']) });
  }
  return accounts;
}

export function kidOf(token: string): string {
  const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: unknown };
  return String(header.kid);
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const count = options.servers().length;
  const up = Array.from({ length: count }, () => true);
  const inFlight = Array.from({ length: count }, () => 0);
  const issued: IssuedToken[] = [];
  const failures: LoadFailure[] = [];
  const answered = new Map<string, number>();
  const accounts: { email: string; password: string }[] = [];
  const startedAt = performance.now();
  // Read through a function: the loops ask after awaits, when stop() may have set it.
  const state = { stopped: false };
  const stopped = (): boolean => state.stopped;
  options.signal?.addEventListener('abort', () => {
    state.stopped = true;
  }, { once: true });

  const upIndexes = (): number[] => up.flatMap((isUp, index) => (isUp ? [index] : []));
  function pick(except?: number): number {
    const candidates = upIndexes().filter((index) => index !== except);
    const pool = candidates.length > 0 ? candidates : upIndexes();
    if (pool.length === 0) throw new Error('no instance is in the rotation');
    const index = pool[randomInt(pool.length)];
    if (index === undefined) throw new Error('no instance is in the rotation');
    return index;
  }

  /**
   * One request to instance `index`, counted in flight from this very tick (so drain()
   * waits for it); the answer must have `status` and pass `check`, else it is a failure
   * and null is returned.
   */
  async function send(index: number, what: string, request: (server: ServerProcess) => Promise<Reply>, status: number, check: (reply: Reply) => string | null = () => null): Promise<Reply | null> {
    const server = options.servers()[index];
    if (server === undefined || !up[index]) throw new Error(`instance ${index} is not in the rotation`);
    inFlight[index] = (inFlight[index] ?? 0) + 1;
    const fail = (detail: string): null => {
      failures.push({ at: Math.round(performance.now() - startedAt), instance: index, what, detail });
      return null;
    };
    try {
      const reply = await request(server);
      if (reply.status !== status) return fail(`${reply.status} ${JSON.stringify(reply.json).slice(0, 300)}`);
      const wrong = check(reply);
      if (wrong !== null) return fail(wrong);
      answered.set(what, (answered.get(what) ?? 0) + 1);
      return reply;
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      return fail(`${error instanceof Error ? error.message : String(error)}${cause}`);
    } finally {
      inFlight[index] = (inFlight[index] ?? 1) - 1;
    }
  }

  function record(reply: Reply, index: number): string {
    const token = String(reply.json['access_token']);
    issued.push({ token, kid: kidOf(token), instance: index, at: reply.doneAt });
    return token;
  }

  const profileOf = (email: string) => (reply: Reply): string | null =>
    reply.json['email'] === email ? null : `/v1/me answered email ${JSON.stringify(reply.json['email'])}, not ${email}`;

  /** Logs in on one instance and reads the profile with that token on every instance in the rotation. */
  async function logInEverywhere(email: string, password: string, on: number): Promise<void> {
    const login = await send(on, 'login', (server) => call(server, 'POST', '/v1/auth/login', { body: { email, password } }), 200);
    if (login === null) return;
    const token = record(login, on);
    await Promise.all(upIndexes().map((index) => send(index, 'me', (server) => call(server, 'GET', '/v1/me', { token }), 200, profileOf(email))));
  }

  async function refreshHeldSession(account: LoadAccount): Promise<void> {
    const on = pick();
    const refreshed = await send(on, 'refresh', (server) => call(server, 'POST', '/v1/auth/refresh', { body: { refresh_token: account.refreshToken } }), 200, (reply) =>
      typeof reply.json['refresh_token'] === 'string' ? null : 'no refresh token in the answer');
    if (refreshed === null) return;
    account.refreshToken = String(refreshed.json['refresh_token']);
    const token = record(refreshed, on);
    await send(pick(), 'me', (server) => call(server, 'GET', '/v1/me', { token }), 200, profileOf(account.email));
  }

  async function client(account: LoadAccount): Promise<void> {
    while (!stopped()) {
      await logInEverywhere(account.email, account.password, pick());
      await refreshHeldSession(account);
      await sleep(options.pauseMs ?? 150);
    }
  }

  // One account created on each instance in the rotation per round, each then logged in
  // on another: whatever one instance wraps, the others must unwrap.
  async function creator(admin: string): Promise<void> {
    while (!stopped()) {
      for (const on of upIndexes()) {
        if (stopped() || !up[on]) continue;
        // No letters-only part of 4 or more in the address: strongPassword() puts 12 random
        // letters in the password, which could spell one and be refused as personal info.
        const email = `ld.${randomBytes(6).toString('hex')}.${String(Date.now())}@example.test`;
        const password = strongPassword();
        const created = await send(on, 'create account', (server) =>
          call(server, 'POST', '/v1/admin/users', { token: admin, body: { email, password, email_verified: true, roles: [] } }), 201);
        if (created === null) continue;
        accounts.push({ email, password });
        await logInEverywhere(email, password, pick(on));
      }
      await sleep(options.accountEveryMs ?? 1_000);
    }
  }

  const running = Promise.all([
    ...options.clients.map((account) => client(account)),
    ...(options.admin === undefined ? [] : [creator(options.admin)]),
  ]);

  return {
    issued,
    failures,
    created: accounts,
    answered,
    async drain(index) {
      up[index] = false;
      while ((inFlight[index] ?? 0) > 0) await sleep(5);
    },
    restore(index) {
      up[index] = true;
    },
    async stop() {
      state.stopped = true;
      await running;
    },
    describeFailures() {
      return failures.map((failure) => `+${failure.at} ms instance ${failure.instance + 1} ${failure.what}: ${failure.detail}`).join('\n');
    },
  };
}
