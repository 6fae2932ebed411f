// The measured phases against a running server: login, GET /v1/me, the bare route, and
// chained refresh rotations. Each is a closed loop (load.ts) watched by a monitor.
import type { OutgoingHttpHeaders } from 'node:http';
import type { HttpClient } from './http-client.ts';
import { runClosedLoop, type Outcome, type PhaseResult } from './load.ts';
import { createWindowMonitor, type MonitorOptions, type WindowUsage } from './monitor.ts';

export interface PhaseTiming {
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly signal?: AbortSignal;
}

export interface MeasuredPhase extends PhaseResult {
  readonly concurrency: number;
  readonly usage: WindowUsage | null;
}

/** A logged-in virtual client: its access token, and its refresh token (replaced on each rotation). */
export interface Session {
  readonly email: string;
  readonly accessToken: string;
  refreshToken: string;
}

interface TokenBody {
  access_token: string;
  refresh_token: string;
}

function isTokenBody(value: unknown): value is TokenBody {
  return typeof value === 'object' && value !== null && 'access_token' in value && 'refresh_token' in value &&
    typeof value.access_token === 'string' && typeof value.refresh_token === 'string';
}

function parseTokens(body: string): TokenBody | null {
  const parsed: unknown = JSON.parse(body);
  return isTokenBody(parsed) ? parsed : null;
}

export async function measure(
  watch: MonitorOptions,
  options: PhaseTiming & { concurrency: number },
  send: (client: number) => Promise<Outcome>,
): Promise<MeasuredPhase> {
  const monitor = createWindowMonitor(watch);
  const result = await runClosedLoop({ ...options, onWindowStart: () => { monitor.start(); }, onWindowEnd: () => { monitor.end(); } }, send);
  return { ...result, concurrency: options.concurrency, usage: monitor.usage() };
}

export async function logIn(client: HttpClient, email: string, password: string): Promise<Session> {
  const response = await client.request('POST', '/v1/auth/login', { json: { email, password } });
  const tokens = response.status === 200 ? parseTokens(response.body) : null;
  if (tokens === null) throw new Error(`login of ${email} answered ${response.status}: ${response.body.slice(0, 200)}`);
  return { email, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

/**
 * Logins as fast as the server answers. Client i only logs in users i, i+c, i+2c, ... in
 * turn, so no account ever has two attempts in flight. The first session of each of the
 * first `keep` users is kept for the later phases.
 */
export async function measureLogin(
  client: HttpClient,
  watch: MonitorOptions,
  options: PhaseTiming & { concurrency: number; emails: readonly string[]; password: string; keep: Map<number, Session>; keepCount: number },
): Promise<MeasuredPhase> {
  const { emails, password, keep, keepCount, concurrency } = options;
  const turns = new Array<number>(concurrency).fill(0);
  return measure(watch, options, async (index) => {
    const turn = turns[index] ?? 0;
    turns[index] = turn + 1;
    const user = (index + turn * concurrency) % emails.length;
    const email = emails[user] ?? '';
    const response = await client.request('POST', '/v1/auth/login', { json: { email, password } });
    if (response.status !== 200) return 'error';
    if (user < keepCount && !keep.has(user)) {
      const tokens = parseTokens(response.body);
      if (tokens !== null) keep.set(user, { email, accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
    }
    return 'ok';
  });
}

function bearer(session: Session): OutgoingHttpHeaders {
  return { authorization: `Bearer ${session.accessToken}` };
}

/** GET `path` with client i's bearer token; `expectBytes` guards against silent errors. */
export async function measureGet(
  client: HttpClient,
  watch: MonitorOptions,
  options: PhaseTiming & { concurrency: number; path: string; sessions: readonly Session[]; expectBytes: number },
): Promise<MeasuredPhase> {
  const headers = options.sessions.map(bearer);
  return measure(watch, options, async (index) => {
    const response = await client.request('GET', options.path, { headers: headers[index % headers.length] ?? {} });
    return response.status === 200 && Buffer.byteLength(response.body) === options.expectBytes ? 'ok' : 'error';
  });
}

/** Each client rotates its own session's refresh token, always presenting the newest one. */
export async function measureRefresh(
  client: HttpClient,
  watch: MonitorOptions,
  options: PhaseTiming & { concurrency: number; sessions: readonly Session[] },
): Promise<MeasuredPhase> {
  if (options.sessions.length < options.concurrency) throw new Error('refresh needs one session per client');
  return measure(watch, options, async (index) => {
    const session = options.sessions[index];
    if (session === undefined) return 'stop';
    const response = await client.request('POST', '/v1/auth/refresh', { json: { refresh_token: session.refreshToken } });
    const tokens = response.status === 200 ? parseTokens(response.body) : null;
    // A failed rotation leaves no token to chain from: this client is done.
    if (tokens === null) return 'stop';
    session.refreshToken = tokens.refresh_token;
    return 'ok';
  });
}

/** How a mixed load's clients divide: the first `login` log in, the next `me` read /v1/me, the rest refresh. */
export interface MixShare {
  readonly login: number;
  readonly me: number;
  readonly refresh: number;
}

export interface MeasuredMix extends MeasuredPhase {
  /** Completed requests of each kind in the measured window, per second. */
  readonly perSecondOf: { readonly login: number; readonly me: number; readonly refresh: number };
}

/**
 * All three at once, as a deployment meets them: password logins (each an Argon2id hash),
 * token checks and refresh rotations, each kind by its own clients in one closed loop.
 * `sessions`: one per refresh client (rotated, as in measureRefresh), then one per /v1/me
 * client. Logins all use `email`, at most `share.login` in flight.
 */
export async function measureMix(
  client: HttpClient,
  watch: MonitorOptions,
  options: PhaseTiming & { share: MixShare; email: string; password: string; sessions: readonly Session[]; meBytes: number },
): Promise<MeasuredMix> {
  const { share, sessions } = options;
  const concurrency = share.login + share.me + share.refresh;
  if (sessions.length < share.refresh + share.me) throw new Error('the mix needs one session per refresh and /v1/me client');
  const counts = { login: 0, me: 0, refresh: 0 };
  // The same window as the closed loop's (load.ts), which starts counting at the same moment.
  const from = performance.now() + options.warmupMs;
  const until = from + options.durationMs;
  const count = (kind: keyof typeof counts): 'ok' => {
    const now = performance.now();
    if (now >= from && now < until) counts[kind] += 1;
    return 'ok';
  };
  const headers = sessions.slice(share.refresh).map(bearer);
  const phase = await measure(watch, { ...options, concurrency }, async (index) => {
    if (index < share.login) {
      const response = await client.request('POST', '/v1/auth/login', { json: { email: options.email, password: options.password } });
      return response.status === 200 ? count('login') : 'error';
    }
    if (index < share.login + share.me) {
      const response = await client.request('GET', '/v1/me', { headers: headers[index - share.login] ?? {} });
      return response.status === 200 && Buffer.byteLength(response.body) === options.meBytes ? count('me') : 'error';
    }
    const session = sessions[index - share.login - share.me];
    if (session === undefined) return 'stop';
    const response = await client.request('POST', '/v1/auth/refresh', { json: { refresh_token: session.refreshToken } });
    const tokens = response.status === 200 ? parseTokens(response.body) : null;
    // A failed rotation leaves no token to chain from: this client is done.
    if (tokens === null) return 'stop';
    session.refreshToken = tokens.refresh_token;
    return count('refresh');
  });
  const seconds = options.durationMs / 1000;
  return { ...phase, perSecondOf: { login: counts.login / seconds, me: counts.me / seconds, refresh: counts.refresh / seconds } };
}
