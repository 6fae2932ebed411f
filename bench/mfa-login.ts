// What a second factor costs at login (issue 10): a password-only login against a login
// with an authenticator app (the password step, then POST /v1/auth/mfa with a TOTP
// code), both through app.inject on the real wiring with the production Argon2id cost
// (m=19456 KiB, t=2, p=1, as services.ts uses by default); and the CPU of the TOTP check
// itself, matchTotp alone and verifySecondFactor against the database. The goals: a TOTP
// login within 5% of a password-only one (the hash dominates both), and ≤ 1 ms of CPU per
// check. Run through bench/run.ts (`npm run bench -- --benchmarks mfa-login`); this
// module measures and returns, printing only progress.
//
// The app runs on a manual clock, moved one TOTP step (30 s) before every code, so each
// code is fresh: a replayed step would be refused (RFC 6238 §5.2) and measure the wrong
// path. Logins alternate (password-only, then TOTP) so drift on a shared machine falls
// on both alike. Nothing listens: requests are injected.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../src/app.ts';
import type { Database, Engine } from '../src/core/db/database.ts';
import type { Services } from '../src/services.ts';
import { createPasswordHasher, DEFAULT_ARGON2_COST } from '../src/core/password/hash.ts';
import { verifySecondFactor } from '../src/features/mfa/index.ts';
import { createTotpSecret, matchTotp, totpCodeAt, totpStep, type TotpSecret } from '../src/features/mfa/totp.ts';
import { insertUser } from '../src/features/users/repo.ts';
import { RAISED_LIMITS } from './auth.ts';
import { buildBenchApp } from './lib/bench-app.ts';
import { createBenchDatabase, type BenchDatabase } from './lib/postgres.ts';
import { percentile, round, sortAscending } from './lib/stats.ts';

export interface MfaLoginBenchOptions {
  readonly engines: readonly Engine[];
  /** Server of the PostgreSQL engine (a fresh database is made and dropped). */
  readonly postgresBaseURL: string;
  /** Measured login pairs (one password-only, one TOTP) per engine, after WARMUP_PAIRS. */
  readonly pairs: number;
  readonly matchCalls: number;
  readonly verifyCalls: number;
  readonly progress: (line: string) => void;
}

export interface Distribution {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
}

export interface MfaEngineReport {
  readonly engine: Engine;
  /** Wall-clock ms per login. */
  readonly passwordLoginMs: Distribution;
  readonly totpLoginMs: Distribution;
  /** The TOTP login's two requests apart. */
  readonly totpPasswordStepMs: Distribution;
  readonly totpSecondStepMs: Distribution;
  /** totpLoginMs.median / passwordLoginMs.median. */
  readonly ratio: number;
  /** The code sent with the password (POST /v1/auth/login with `code`): one request. */
  readonly oneRequestLoginMs: Distribution;
  /** oneRequestLoginMs.median / passwordLoginMs.median. */
  readonly oneRequestRatio: number;
  readonly oneRequestCPUms: number;
  /** Process CPU ms per login (all threads: the Argon2id hash runs on the libuv pool; PGlite in-process). */
  readonly passwordLoginCPUms: number;
  readonly totpLoginCPUms: number;
  /** µs of process CPU per verifySecondFactor (TOTP) in its own transaction: load, unseal, match, claim. */
  readonly verifyCPUus: number;
  readonly verifyWallus: number;
}

export interface MfaLoginBenchReport {
  readonly benchmark: 'mfa-login';
  readonly date: string;
  readonly node: string;
  readonly machine: { readonly cpus: number; readonly model: string };
  readonly argon2: { readonly memoryKiB: number; readonly passes: number; readonly parallelism: number };
  readonly pairs: number;
  /** One Argon2id verification alone, ms wall: the part of a login the 5% goal assumes dominates. */
  readonly hashVerifyMs: Distribution;
  /** µs of CPU per matchTotp, with the right code and with a wrong one (pure computation). */
  readonly matchTotpCPUus: { readonly right: number; readonly wrong: number };
  readonly engines: readonly MfaEngineReport[];
}

const WARMUP_PAIRS = 3;
const STEP_MS = 30_000;
const PASSWORD = `bench ${randomBytes(8).toString('hex')} correct horse battery`;

function distribution(values: number[]): Distribution {
  const sorted = sortAscending([...values]);
  return { median: round(percentile(sorted, 50), 2), p10: round(percentile(sorted, 10), 2), p90: round(percentile(sorted, 90), 2) };
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** A clock the benchmark moves: one TOTP step per code. */
function steppingClock(): { clock: () => Date; step: () => void } {
  let now = Date.now();
  return { clock: () => new Date(now), step: () => { now += STEP_MS; } };
}

interface Harness {
  readonly app: App;
  readonly services: Services;
  readonly database: Database;
  readonly time: ReturnType<typeof steppingClock>;
  close(): Promise<void>;
}

async function startHarness(engine: Engine, postgresBaseURL: string): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-mfa-'));
  const pg: BenchDatabase | null = engine === 'postgres' ? await createBenchDatabase(postgresBaseURL) : null;
  const env: Record<string, string> = { GATEHOUSE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: dataDir, ...RAISED_LIMITS };
  if (pg !== null) env['DATABASE_URL'] = pg.url;
  const time = steppingClock();
  const { app, services, database } = await buildBenchApp(env, time.clock);
  await app.ready();
  return {
    app,
    services,
    database,
    time,
    async close() {
      await app.close();
      await services.jobs.stop();
      await database.close();
      await pg?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function post(app: App, url: string, payload: Record<string, unknown>, token?: string): Promise<Record<string, unknown>> {
  const response = await app.inject({ method: 'POST', url, payload, ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
  if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}: ${response.body}`);
  return response.json<Record<string, unknown>>();
}

async function createAccount(harness: Harness, label: string): Promise<{ id: string; email: string }> {
  const auth = harness.services.auth;
  const email = `bench.mfa.${label}.${randomBytes(4).toString('hex')}@example.test`;
  const passwordHash = await auth.passwords.hash(PASSWORD);
  const id = await insertUser(auth.db, { keyring: auth.keyring, blindIndex: auth.blindIndex }, { email, name: null, passwordHash, emailVerified: true, now: harness.time.clock() });
  if (id === null) throw new Error(`user ${email} exists`);
  return { id, email };
}

/** Enrols an authenticator app through the API, as a user would. */
async function enrolTotp(harness: Harness, email: string): Promise<TotpSecret> {
  const signedIn = await post(harness.app, '/v1/auth/login', { email, password: PASSWORD });
  const token = String(signedIn['access_token']);
  const started = await post(harness.app, '/v1/me/mfa/totp', {}, token);
  const secret = { base32: String(started['secret']) };
  await post(harness.app, '/v1/me/mfa/totp/confirm', { code: totpCodeAt(secret, totpStep(harness.time.clock())) }, token);
  return secret;
}

async function passwordLogin(harness: Harness, email: string): Promise<void> {
  const body = await post(harness.app, '/v1/auth/login', { email, password: PASSWORD });
  if (typeof body['access_token'] !== 'string') throw new Error('password-only login did not sign in');
}

async function totpLogin(harness: Harness, email: string, secret: TotpSecret): Promise<{ firstMs: number; secondMs: number }> {
  harness.time.step();
  const started = performance.now();
  const first = await post(harness.app, '/v1/auth/login', { email, password: PASSWORD });
  if (first['mfa_required'] !== true) throw new Error('the TOTP account was not asked for a second factor');
  const between = performance.now();
  const code = totpCodeAt(secret, totpStep(harness.time.clock()));
  const second = await post(harness.app, '/v1/auth/mfa', { mfa_token: first['mfa_token'], code });
  if (typeof second['access_token'] !== 'string') throw new Error('the second step did not sign in');
  return { firstMs: between - started, secondMs: performance.now() - between };
}

async function oneRequestTotpLogin(harness: Harness, email: string, secret: TotpSecret): Promise<void> {
  harness.time.step();
  const body = await post(harness.app, '/v1/auth/login', { email, password: PASSWORD, code: totpCodeAt(secret, totpStep(harness.time.clock())) });
  if (typeof body['access_token'] !== 'string') throw new Error('the one-request TOTP login did not sign in');
}

async function measureLogins(harness: Harness, pairs: number, accounts: { plain: string; totp: string; secret: TotpSecret }): Promise<Omit<MfaEngineReport, 'engine' | 'verifyCPUus' | 'verifyWallus'>> {
  const plain: number[] = [];
  const totp: number[] = [];
  const firstSteps: number[] = [];
  const secondSteps: number[] = [];
  const oneRequest: number[] = [];
  let plainCPU = 0;
  let totpCPU = 0;
  let oneRequestCPU = 0;
  for (let pair = 0; pair < WARMUP_PAIRS + pairs; pair += 1) {
    const measured = pair >= WARMUP_PAIRS;
    let cpu = process.cpuUsage();
    let started = performance.now();
    await passwordLogin(harness, accounts.plain);
    if (measured) {
      plain.push(performance.now() - started);
      plainCPU += cpuMsSince(cpu);
    }
    cpu = process.cpuUsage();
    started = performance.now();
    const steps = await totpLogin(harness, accounts.totp, accounts.secret);
    if (measured) {
      totp.push(performance.now() - started);
      totpCPU += cpuMsSince(cpu);
      firstSteps.push(steps.firstMs);
      secondSteps.push(steps.secondMs);
    }
    cpu = process.cpuUsage();
    started = performance.now();
    await oneRequestTotpLogin(harness, accounts.totp, accounts.secret);
    if (measured) {
      oneRequest.push(performance.now() - started);
      oneRequestCPU += cpuMsSince(cpu);
    }
  }
  const oneRequestLoginMs = distribution(oneRequest);
  const passwordLoginMs = distribution(plain);
  const totpLoginMs = distribution(totp);
  return {
    passwordLoginMs,
    totpLoginMs,
    totpPasswordStepMs: distribution(firstSteps),
    totpSecondStepMs: distribution(secondSteps),
    ratio: round(totpLoginMs.median / passwordLoginMs.median, 3),
    passwordLoginCPUms: round(plainCPU / pairs, 2),
    totpLoginCPUms: round(totpCPU / pairs, 2),
    oneRequestLoginMs,
    oneRequestRatio: round(oneRequestLoginMs.median / distribution(plain).median, 3),
    oneRequestCPUms: round(oneRequestCPU / pairs, 2),
  };
}

/** verifySecondFactor as the login step calls it: its own transaction, a fresh step each time. */
async function measureVerify(harness: Harness, userId: string, secret: TotpSecret, calls: number): Promise<{ cpuUs: number; wallUs: number }> {
  const deps = { keyring: harness.services.auth.keyring, passkeySecondFactor: harness.services.auth.passkeySecondFactor };
  // Past every step the logins used.
  const base = harness.time.clock().getTime() + 10 * STEP_MS;
  const attempts = Array.from({ length: calls }, (_, index) => {
    const now = new Date(base + index * STEP_MS);
    return { now, code: totpCodeAt(secret, totpStep(now)) };
  });
  const verify = async (attempt: { now: Date; code: string }): Promise<void> => {
    const result = await harness.database.db.transaction().execute((trx) =>
      verifySecondFactor(trx, deps, { userId, proof: { method: 'totp', code: attempt.code }, now: attempt.now, passkeyChallengeHash: null }),
    );
    if (!result.ok) throw new Error(`verifySecondFactor refused a fresh code: ${result.reason}`);
  };
  const warmup = Math.min(50, Math.floor(calls / 10));
  for (const attempt of attempts.slice(0, warmup)) await verify(attempt);
  const measured = attempts.slice(warmup);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const attempt of measured) await verify(attempt);
  const wallMs = performance.now() - started;
  return { cpuUs: round((cpuMsSince(cpu) * 1000) / measured.length, 1), wallUs: round((wallMs * 1000) / measured.length, 1) };
}

/** matchTotp alone: the right code of each step (found at delta 0), or a wrong one (all three steps tried). */
export function measureMatchTotp(calls: number): { right: number; wrong: number } {
  const secret = createTotpSecret();
  const base = Date.now();
  const cases = Array.from({ length: calls }, (_, index) => {
    const now = new Date(base + index * STEP_MS);
    const right = totpCodeAt(secret, totpStep(now));
    // A code of a step far away: six digits, never within the ±1 window (almost surely).
    const wrong = totpCodeAt(secret, totpStep(now) + 1000);
    return { now, right, wrong };
  });
  const run = (pick: 'right' | 'wrong'): number => {
    let matched = 0;
    const cpu = process.cpuUsage();
    for (const item of cases) if (matchTotp(secret, item[pick], item.now) !== null) matched += 1;
    const perCallUs = (cpuMsSince(cpu) * 1000) / calls;
    if (pick === 'right' && matched !== calls) throw new Error(`matchTotp refused ${calls - matched} right codes`);
    return round(perCallUs, 2);
  };
  run('right');
  run('wrong');
  return { right: run('right'), wrong: run('wrong') };
}

async function measureEngine(engine: Engine, options: MfaLoginBenchOptions): Promise<MfaEngineReport> {
  const harness = await startHarness(engine, options.postgresBaseURL);
  try {
    const plain = await createAccount(harness, 'plain');
    const totpAccount = await createAccount(harness, 'totp');
    const secret = await enrolTotp(harness, totpAccount.email);
    options.progress(`mfa-login ${engine}: ${options.pairs} login pairs (password-only, TOTP) after ${WARMUP_PAIRS} warm-up pairs`);
    const logins = await measureLogins(harness, options.pairs, { plain: plain.email, totp: totpAccount.email, secret });
    options.progress(`mfa-login ${engine}: ${options.verifyCalls} verifySecondFactor (TOTP) calls`);
    const verify = await measureVerify(harness, totpAccount.id, secret, options.verifyCalls);
    return { engine, ...logins, verifyCPUus: verify.cpuUs, verifyWallus: verify.wallUs };
  } finally {
    await harness.close();
  }
}

async function measureHashVerify(samples: number): Promise<Distribution> {
  const hasher = createPasswordHasher(DEFAULT_ARGON2_COST);
  const hash = await hasher.hash(PASSWORD);
  const times: number[] = [];
  for (let sample = 0; sample < samples + 2; sample += 1) {
    const started = performance.now();
    await hasher.verify(hash, PASSWORD);
    if (sample >= 2) times.push(performance.now() - started);
  }
  return distribution(times);
}

export async function runMfaLoginBenchmark(options: MfaLoginBenchOptions): Promise<MfaLoginBenchReport> {
  options.progress(`mfa-login: ${options.matchCalls} matchTotp calls, ${options.pairs} Argon2id verifications`);
  const matchTotpCPUus = measureMatchTotp(options.matchCalls);
  const hashVerifyMs = await measureHashVerify(options.pairs);
  const engines: MfaEngineReport[] = [];
  for (const engine of options.engines) engines.push(await measureEngine(engine, options));
  return {
    benchmark: 'mfa-login',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
    argon2: { ...DEFAULT_ARGON2_COST },
    pairs: options.pairs,
    hashVerifyMs,
    matchTotpCPUus,
    engines,
  };
}
