// Shared by the cross-feature attack suites: a clock that moves only when told, account
// set-up over HTTP, and helpers to compare what an attacker observes.
import assert from 'node:assert/strict';
import type { Clock } from '../../src/core/clock.ts';
import { startTestApp, type TestAppOptions } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/database.ts';
import type { EngineApp } from '../helpers/engine-app.ts';
import { httpClient, tokenFromMail } from '../helpers/http.ts';

export interface ManualClock {
  readonly clock: Clock;
  advanceSeconds(seconds: number): void;
  advanceMs(ms: number): void;
}

/** Starts at the real time (so keys, rows and tokens look ordinary) and then stands still. */
export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  return {
    clock: () => new Date(now),
    advanceSeconds(seconds) {
      now += seconds * 1000;
    },
    advanceMs(ms) {
      now += ms;
    },
  };
}

/**
 * A listening app on an already open test database, so one suite can run apps with
 * different settings without paying for a fresh database each (seconds on PGlite).
 * Closing it leaves the database open for the next app.
 */
export async function startAppOn(test: TestDatabase, options: TestAppOptions = {}): Promise<EngineApp> {
  // As startEngineApp: functional traffic from one address must not trip the budgets.
  const env = { AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000', RATE_LIMIT_MAX: '100000', ...options.env };
  const app = await startTestApp({ ...options, env, database: test.database, listen: true });
  return { ...app, client: httpClient(app.baseURL) };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  session_id: string;
  expires_in: number;
  token_type: string;
}

export async function registerVerified(app: EngineApp, email: string, password: string): Promise<void> {
  const registered = await app.client.request('POST', '/v1/auth/register', { body: { email, password } });
  assert.equal(registered.status, 202, registered.text);
  await app.settle();
  const token = tokenFromMail(app.mails, email, /Confirm your email/);
  const verified = await app.client.request('POST', '/v1/auth/verify-email', { body: { token } });
  assert.equal(verified.status, 200, verified.text);
}

export async function logIn(app: EngineApp, email: string, password: string): Promise<Tokens> {
  const response = await app.client.request<Tokens>('POST', '/v1/auth/login', { body: { email, password } });
  assert.equal(response.status, 200, response.text);
  return response.json();
}

/** The body of a problem response without its request id, the one part that differs per request. */
export function withoutRequestId(text: string): Record<string, unknown> {
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(typeof body['request_id'], 'string', 'a problem always carries a request id');
  delete body['request_id'];
  return body;
}

// Headers whose values legitimately differ between any two requests; everything else
// (which headers exist, and every other value) must match.
const VOLATILE_HEADERS = new Set(['date', 'x-request-id', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit', 'ratelimit-policy']);

export function comparableHeaders(headers: Headers): { names: string[]; values: Record<string, string> } {
  const names = [...headers.keys()].sort();
  const values: Record<string, string> = {};
  for (const name of names) {
    if (!VOLATILE_HEADERS.has(name)) values[name] = headers.get(name) ?? '';
  }
  return { names, values };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function auditCount(app: EngineApp, action: string, filter: (details: Record<string, unknown>) => boolean = () => true): Promise<number> {
  const rows = await app.database.db.selectFrom('audit_events').select(['details']).where('action', '=', action).execute();
  return rows.filter((row) => filter(row.details)).length;
}

/** The `code` of a problem response. */
export function problemCode(response: { readonly text: string }): unknown {
  return (JSON.parse(response.text) as Record<string, unknown>)['code'];
}
