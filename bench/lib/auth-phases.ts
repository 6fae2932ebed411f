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
