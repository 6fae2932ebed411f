// Each check of `gatehouse doctor` on fabricated inputs: the bad input warns or fails
// with its fix, the good one passes; and the runner never shows a skipped check as a pass.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig, type Config } from '../../config/config.ts';
import type { Env } from '../../config/env-source.ts';
import { CHECKS } from './checks.ts';
import { configurationCheck, judgeCORS, judgeMasterKey, judgePublicURL } from './configuration-checks.ts';
import { judgeMigrations, judgeRole } from './database-checks.ts';
import { judgeAuditChain } from './audit-check.ts';
import { judgeDirectoryMode, judgeNodeVersion, judgeProcessUser } from './host-checks.ts';
import { judgeKeyWrapping, judgeSigningKeys, SIGNING_KEY_MAX_AGE_DAYS } from './key-checks.ts';
import { judgeRedisUnset } from './redis-check.ts';
import { formatJSON, formatTable, redactSecrets, secretsOf } from './report.ts';
import { judgeBackups } from './backup-check.ts';
import { assertWellOrdered, describeFailure, exitCode, runChecks } from './run.ts';
import { judgeDatabaseTLS, judgeListener, judgeRedisTLS, judgeSMTPTLS } from './transport-checks.ts';
import type { Check, CheckResult, DoctorContext, Finding } from './types.ts';

const NOW = new Date('2030-06-01T00:00:00Z');
const DAY_MS = 86_400_000;
const production = { environment: 'production' } as const;
const development = { environment: 'development' } as const;

function masterKey(): string {
  return `k1:${randomBytes(32).toString('base64url')}`;
}

function productionEnv(extra: Env = {}): Env {
  return {
    GATEHOUSE_ENV: 'production',
    DATA_DIR: '/srv/gatehouse',
    GATEHOUSE_MASTER_KEY: masterKey(),
    PUBLIC_URL: 'https://id.example.test',
    SMTP_URL: 'smtps://mailer:mail-password@mail.example.test',
    TRUST_PROXY: '10.0.0.1',
    ...extra,
  };
}

function contextFor(env: Env): DoctorContext {
  const unavailable = (): Promise<never> => Promise.reject(new Error('not in this test'));
  return {
    env,
    cwd: '/',
    config: (): Config => loadConfig(env, { cwd: '/' }),
    database: unavailable,
    masterKeys: unavailable,
    keyring: unavailable,
    redis: unavailable,
    now: () => NOW,
    uid: 1000,
    nodeVersion: 'v24.0.0',
  };
}

function expect(finding: Finding, status: Finding['status'], pattern?: RegExp): void {
  assert.equal(finding.status, status, finding.summary);
  if (pattern !== undefined) assert.match(finding.summary, pattern);
  // Every warning and failure says how to fix it; a pass or skip has nothing to fix.
  assert.equal(finding.fix !== undefined, status === 'warn' || status === 'fail', `fix of a ${status}: ${String(finding.fix)}`);
}

describe('doctor: configuration checks', () => {
  it('configuration: invalid fails naming the settings (never their values), development warns, production passes', async () => {
    const weak = `k1:${Buffer.alloc(32, 'a').toString('base64url')}`;
    const invalid = await configurationCheck.run(contextFor(productionEnv({ CORS_ORIGINS: '*', GATEHOUSE_MASTER_KEY: weak })));
    expect(invalid, 'fail', /CORS_ORIGINS: .*GATEHOUSE_MASTER_KEY|GATEHOUSE_MASTER_KEY: .*CORS_ORIGINS/);
    assert.ok(!invalid.summary.includes(weak.slice(3)));
    const dev = await configurationCheck.run(contextFor({ DATA_DIR: '/srv/gatehouse' }));
    expect(dev, 'warn', /development.*refuse .*PUBLIC_URL/);
    assert.match(dev.fix ?? '', /GATEHOUSE_ENV=production/);
    expect(await configurationCheck.run(contextFor({ ...productionEnv(), GATEHOUSE_ENV: undefined })), 'warn', /they would hold/);
    expect(await configurationCheck.run(contextFor(productionEnv())), 'pass');
  });

  it('master-key: the development key file warns (fails in production); a configured key passes without showing it', () => {
    expect(judgeMasterKey({ ...development, masterKeys: null }), 'warn', /development key/);
    expect(judgeMasterKey({ ...production, masterKeys: null }), 'fail');
    const key = randomBytes(32);
    const finding = judgeMasterKey({ ...production, masterKeys: [{ id: 'k2', key }, { id: 'k1', key: randomBytes(32) }] });
    expect(finding, 'pass', /2 keys, current id k2/);
    assert.ok(!finding.summary.includes(key.toString('base64url')));
  });

  it('public-url: http warns (fails in production), https passes', () => {
    expect(judgePublicURL({ ...development, publicURL: 'http://127.0.0.1:8080' }), 'warn');
    expect(judgePublicURL({ ...production, publicURL: 'http://id.example.test' }), 'fail');
    expect(judgePublicURL({ ...production, publicURL: 'https://id.example.test' }), 'pass');
  });

  it('cors: *, plain-HTTP origins and (in production) localhost are flagged; exact https origins or none pass', () => {
    const cors = (origins: Config['cors']['origins']): Config['cors'] => ({ origins, credentials: false });
    expect(judgeCORS({ ...production, cors: cors('*') }), 'fail', /\*/);
    expect(judgeCORS({ ...development, cors: cors('*') }), 'warn');
    expect(judgeCORS({ ...production, cors: cors(['http://app.example.test']) }), 'fail', /plain-HTTP/);
    expect(judgeCORS({ ...production, cors: cors(['http://localhost:5173']) }), 'warn', /local development/);
    expect(judgeCORS({ ...development, cors: cors(['http://localhost:5173']) }), 'pass');
    expect(judgeCORS({ ...production, cors: cors(['https://app.example.test']) }), 'pass', /app\.example\.test/);
    expect(judgeCORS({ ...production, cors: cors([]) }), 'pass', /no cross-origin/);
  });
});

describe('doctor: transport checks', () => {
  const tls = { certFile: '/etc/tls/cert.pem', keyFile: '/etc/tls/key.pem' };
  const certificate = (days: number): { validTo: Date; subject: string } => ({ validTo: new Date(NOW.getTime() + days * DAY_MS), subject: 'CN=id.example.test' });

  it('https: plain HTTP without a proxy, TRUST_PROXY=true and an expired or expiring certificate are flagged', () => {
    expect(judgeListener({ ...production, tls: null, trustProxy: false }, null, NOW), 'fail', /plain HTTP/);
    expect(judgeListener({ ...development, tls: null, trustProxy: false }, null, NOW), 'warn');
    expect(judgeListener({ ...production, tls: null, trustProxy: true }, null, NOW), 'warn', /any client/);
    expect(judgeListener({ ...production, tls, trustProxy: false }, certificate(-1), NOW), 'fail', /expired/);
    expect(judgeListener({ ...production, tls, trustProxy: false }, certificate(5), NOW), 'warn', /expires in 5 days/);
    expect(judgeListener({ ...production, tls, trustProxy: false }, certificate(60), NOW), 'pass', /60 more days/);
    expect(judgeListener({ ...production, tls: null, trustProxy: ['10.0.0.1'] }, null, NOW), 'pass', /10\.0\.0\.1/);
  });

  it('database-tls: no or non-verifying sslmode and an unencrypted connection are flagged; verify-ca warns; a socket, PGlite or verify-full pass', () => {
    const postgres = (url: string): Config['database'] => ({ engine: 'postgres', url, poolMax: 2, preparedStatements: true });
    const encrypted = { ssl: true, version: 'TLSv1.3' };
    expect(judgeDatabaseTLS({ ...production, database: postgres('postgres://app:pw@127.0.0.1/gh') }, null), 'fail', /sslmode/);
    expect(judgeDatabaseTLS({ ...development, database: postgres('postgres://app:pw@127.0.0.1/gh') }, { ssl: false, version: null }), 'warn');
    expect(judgeDatabaseTLS({ ...production, database: postgres('postgres://app:pw@db.example.test/gh?sslmode=require') }, encrypted), 'fail', /does not verify/);
    expect(judgeDatabaseTLS({ ...production, database: postgres('postgres://app:pw@db.example.test/gh?sslmode=verify-full') }, { ssl: false, version: null }), 'fail', /not encrypted/);
    expect(judgeDatabaseTLS({ ...production, database: postgres('postgres://app:pw@db.example.test/gh?sslmode=verify-ca') }, encrypted), 'warn', /verify-ca/);
    expect(judgeDatabaseTLS({ ...production, database: postgres('postgres://app:pw@db.example.test/gh?sslmode=verify-full') }, encrypted), 'pass', /TLSv1\.3/);
    expect(judgeDatabaseTLS({ ...production, database: postgres('postgres://app@/gh?host=/var/run/postgresql') }, { ssl: false, version: null }), 'pass', /Unix socket/);
    expect(judgeDatabaseTLS({ ...production, database: { engine: 'pglite', dataDir: '/srv/gatehouse/pglite' } }, null), 'pass');
  });

  it('redis-tls: redis:// or verification turned off are flagged (password masked); rediss:// passes; unset is a skip', () => {
    const plain = judgeRedisTLS({ ...production, redisURL: 'redis://:redis-password@cache.example.test:6379' });
    expect(plain, 'fail', /rediss/);
    assert.ok(!plain.summary.includes('redis-password'));
    expect(judgeRedisTLS({ ...development, redisURL: 'redis://127.0.0.1:6379' }), 'warn');
    expect(judgeRedisTLS({ ...production, redisURL: 'rediss://cache.example.test?tls.rejectUnauthorized=false' }), 'fail', /rejectUnauthorized/);
    expect(judgeRedisTLS({ ...production, redisURL: 'rediss://cache.example.test' }), 'pass');
    expect(judgeRedisTLS({ ...production, redisURL: null }), 'skip');
  });

  it('smtp-tls: unset or smtp:// without required STARTTLS are flagged; smtps:// and requireTLS=true pass', () => {
    const smtp = (url: string | null): Config['smtp'] => ({ url, from: 'Gatehouse <no-reply@example.test>' });
    expect(judgeSMTPTLS({ ...development, smtp: smtp(null) }), 'warn', /outbox/);
    const plain = judgeSMTPTLS({ ...production, smtp: smtp('smtp://mailer:mail-password@mail.example.test') });
    expect(plain, 'fail', /requireTLS/);
    assert.ok(!plain.summary.includes('mail-password'));
    expect(judgeSMTPTLS({ ...production, smtp: smtp('smtp://mail.example.test?requireTLS=true') }), 'pass', /STARTTLS/);
    expect(judgeSMTPTLS({ ...production, smtp: smtp('smtps://mail.example.test') }), 'pass');
  });
});

describe('doctor: database, audit and key checks', () => {
  it('migrations: changed or unknown migrations fail, pending ones warn, current passes', () => {
    const status = { applied: [1, 2], pending: [], modified: [], unknown: [] };
    expect(judgeMigrations({ ...status, modified: [2] }), 'fail', /changed/);
    expect(judgeMigrations({ ...status, unknown: [3] }), 'fail', /does not know/);
    expect(judgeMigrations({ ...status, applied: [1], pending: [2] }), 'warn', /pending/);
    expect(judgeMigrations(status), 'pass', /2 applied/);
  });

  it('database-role: a superuser, a table owner, or a role that may rewrite audit records warns; the least-privilege role passes', () => {
    const good = { role: 'gatehouse_app', superuser: false, ownedTables: 0, auditWritable: false };
    expect(judgeRole({ ...good, role: 'postgres', superuser: true, ownedTables: 20, auditWritable: true }), 'warn', /superuser/);
    expect(judgeRole({ ...good, ownedTables: 20, auditWritable: true }), 'warn', /owns 20 tables/);
    expect(judgeRole({ ...good, auditWritable: true }), 'warn', /audit/);
    expect(judgeRole(good), 'pass');
  });

  it('audit-chain: a broken chain fails naming the record; an intact one passes with its cost', () => {
    const head = { seq: 41, hash: 'a'.repeat(64) };
    expect(judgeAuditChain({ ok: false, checked: 41, firstBrokenSeq: 42, reason: 'hash_mismatch', head }, 12), 'fail', /seq 42 \(hash_mismatch\)/);
    expect(judgeAuditChain({ ok: true, checked: 41, firstBrokenSeq: null, head }, 1234), 'pass', /41 records verified in 1\.2 s/);
  });

  it('audit-chain: an audit-key rotation stopped after creating its key warns, naming the pending key', () => {
    const head = { seq: 41, hash: 'a'.repeat(64), keyId: 'audit-chain' };
    expect(judgeAuditChain({ ok: true, checked: 41, firstBrokenSeq: null, head }, 10, ['audit-chain:2']), 'warn', /rotation is unfinished: audit-chain:2/);
    expect(judgeAuditChain({ ok: false, checked: 41, firstBrokenSeq: 42, reason: 'key_mismatch', head }, 10, ['audit-chain:2']), 'fail', /seq 42 \(key_mismatch\)/);
  });

  it('backups: none configured or none written warns, a whole slot missed fails, a recent one passes', () => {
    const config = { schedule: '0 3 * * *', keep: 7 };
    const lastSuccess = new Date('2026-03-01T03:00:05Z');
    const dueSince = new Date('2026-03-01T03:00:00Z');
    expect(judgeBackups(config, { state: 'disabled' }), 'warn', /BACKUP_DIR unset/);
    expect(judgeBackups(config, { state: 'never', lastSuccess: null, dueSince }), 'warn', /none written yet/);
    expect(judgeBackups(config, { state: 'stale', lastSuccess, dueSince }), 'fail', /older than the schedule/);
    expect(judgeBackups(config, { state: 'fresh', lastSuccess, dueSince }), 'pass', /keeping 7/);
  });

  it('signing-keys: none, no next key, or an active key past the rotation age warn; a fresh pair passes', () => {
    const since = (days: number): Date => new Date(NOW.getTime() - days * DAY_MS);
    expect(judgeSigningKeys({ active: null, nextKid: null }, NOW), 'warn', /no active/);
    expect(judgeSigningKeys({ active: { kid: 'a', since: since(1) }, nextKid: null }, NOW), 'warn', /no next key/);
    expect(judgeSigningKeys({ active: { kid: 'a', since: since(SIGNING_KEY_MAX_AGE_DAYS + 1) }, nextKid: 'b' }, NOW), 'warn', /91 days/);
    expect(judgeSigningKeys({ active: { kid: 'a', since: since(10) }, nextKid: 'b' }, NOW), 'pass', /10 days.*next key b/);
  });

  it('key-wrapping: keys under a master key the keyring lacks fail, a half-done rotation warns, all under the current key passes', () => {
    expect(judgeKeyWrapping({ keyringIds: ['k2'], wrapped: [{ masterKeyId: 'k1', count: 3 }, { masterKeyId: 'k2', count: 1 }] }), 'fail', /3 under k1/);
    const half = judgeKeyWrapping({ keyringIds: ['k2', 'k1'], wrapped: [{ masterKeyId: 'k1', count: 3 }, { masterKeyId: 'k2', count: 1 }] });
    expect(half, 'warn', /half done: 3 under k1/);
    assert.match(half.fix ?? '', /gatehouse keys rotate-master/);
    expect(judgeKeyWrapping({ keyringIds: ['k2', 'k1'], wrapped: [{ masterKeyId: 'k2', count: 4 }] }), 'pass', /all 4 .* k2; k1 no longer/);
    expect(judgeKeyWrapping({ keyringIds: [], wrapped: [] }), 'pass', /no stored keys/);
  });
});

describe('doctor: redis and host checks', () => {
  it('redis unset is a skip (whether several instances run cannot be told), never a pass', () => {
    const postgres = { engine: 'postgres', url: 'postgres://x@/y?host=/run', poolMax: 2, preparedStatements: true } as const;
    expect(judgeRedisUnset({ ...production, workers: 1, database: postgres }), 'skip', /per instance/);
    expect(judgeRedisUnset({ ...production, workers: 1, database: { engine: 'pglite', dataDir: '/d' } }), 'skip', /one instance/);
  });

  it('redis unset with WORKERS above 1 warns (fails in production): each worker would count its own budgets', () => {
    const postgres = { engine: 'postgres', url: 'postgres://x@/y?host=/run', poolMax: 2, preparedStatements: true } as const;
    expect(judgeRedisUnset({ ...development, workers: 2, database: postgres }), 'warn', /2 times/);
    expect(judgeRedisUnset({ ...production, workers: 4, database: postgres }), 'fail', /WORKERS=4/);
  });

  it('data-dir and files-dir: open to others warns (fails in production); 700 passes; missing is a skip', () => {
    expect(judgeDirectoryMode(production, 'DATA_DIR', '/srv/gatehouse', 0o40755), 'fail', /mode 755/);
    expect(judgeDirectoryMode(development, 'FILES_DIR', '/srv/files', 0o40777), 'warn', /FILES_DIR/);
    expect(judgeDirectoryMode(production, 'DATA_DIR', '/srv/gatehouse', 0o40750), 'pass');
    expect(judgeDirectoryMode(production, 'DATA_DIR', '/srv/gatehouse', null), 'skip');
  });

  it('process-user: root warns; another user passes', () => {
    expect(judgeProcessUser(0), 'warn', /root/);
    expect(judgeProcessUser(1000), 'pass');
    expect(judgeProcessUser(undefined), 'skip');
  });

  it('node-version: older than 24 fails, an odd (short-lived) major warns, 24 passes', () => {
    expect(judgeNodeVersion('v22.11.0'), 'fail');
    expect(judgeNodeVersion('v25.1.0'), 'warn', /long-term/);
    expect(judgeNodeVersion('v24.3.0'), 'pass');
  });
});

describe('doctor: running and reporting', () => {
  const context = contextFor({});
  const check = (name: string, finding: Finding | Error, dependsOn?: string[]): Check => ({
    name,
    ...(dependsOn === undefined ? {} : { dependsOn }),
    run: () => (finding instanceof Error ? Promise.reject(finding) : finding),
  });
  const statuses = (results: readonly CheckResult[]): string[] => results.map((result) => `${result.name}:${result.status}`);

  it('a check whose dependency failed or was skipped is skipped, not passed; a throwing check fails with credentials scrubbed', async () => {
    const results = await runChecks([
      check('db', new Error('connect ECONNREFUSED postgres://app:db-password@db.example.test/gh')),
      check('schema', { status: 'pass', summary: 'fine' }, ['db']),
      check('role', { status: 'pass', summary: 'fine' }, ['schema']),
      check('cache', { status: 'skip', summary: 'unset' }),
      check('cache-tls', { status: 'pass', summary: 'fine' }, ['cache']),
      check('host', { status: 'warn', summary: 'root', fix: 'drop it' }),
      check('after-warn', { status: 'pass', summary: 'fine' }, ['host']),
    ], context);
    assert.deepEqual(statuses(results), ['db:fail', 'schema:skip', 'role:skip', 'cache:skip', 'cache-tls:skip', 'host:warn', 'after-warn:pass']);
    assert.match(results[0]?.summary ?? '', /could not run: connect ECONNREFUSED postgres:\/\/\*\*\*@db\.example\.test/);
    assert.ok(!JSON.stringify(results).includes('db-password'));
    assert.match(results[1]?.summary ?? '', /db failed/);
    assert.match(results[2]?.summary ?? '', /schema was skipped/);
  });

  it('exits 1 on a failure, and on a warning only with --strict; skips never fail', () => {
    const result = (status: Finding['status']): CheckResult => ({ name: status, status, summary: '', ms: 0 });
    assert.equal(exitCode([result('pass'), result('skip'), result('warn')], { strict: false }), 0);
    assert.equal(exitCode([result('pass'), result('skip'), result('warn')], { strict: true }), 1);
    assert.equal(exitCode([result('pass'), result('fail')], { strict: false }), 1);
    assert.equal(exitCode([result('pass'), result('skip')], { strict: true }), 0);
  });

  it('the checklist is well ordered: unique names, every dependency listed before its dependant', () => {
    assert.doesNotThrow(() => { assertWellOrdered(CHECKS); });
    assert.throws(() => { assertWellOrdered([check('b', { status: 'pass', summary: '' }, ['a']), check('a', { status: 'pass', summary: '' })]); }, /depends on a/);
    assert.throws(() => { assertWellOrdered([check('a', { status: 'pass', summary: '' }), check('a', { status: 'pass', summary: '' })]); }, /twice/);
    assert.ok(CHECKS.every((entry) => /^[a-z][a-z0-9-]*$/.test(entry.name)));
  });

  it('the report masks every secret of the configuration that reached it, in any form', () => {
    const key = masterKey();
    const env = productionEnv({ GATEHOUSE_MASTER_KEY: key, DATABASE_URL: 'postgres://app:p%40ss-word@db.example.test/gh?sslmode=verify-full' });
    const config = loadConfig(env, { cwd: '/' });
    const leaked = `failed: ${key} ${key.slice(3)} p@ss-word p%40ss-word mail-password`;
    const text = redactSecrets(leaked, secretsOf(env, config));
    for (const secret of [key.slice(3), 'p@ss-word', 'p%40ss-word', 'mail-password']) assert.ok(!text.includes(secret), secret);
    assert.equal(redactSecrets('k1 and postgres stay readable', secretsOf(env, null)), 'k1 and postgres stay readable');
    assert.ok(!redactSecrets(leaked, secretsOf(env, null)).includes(key.slice(3)), 'an invalid configuration: the raw variables are masked');
  });

  it('prints a table with the fix under each warning and failure, or JSON for machines', () => {
    const results: CheckResult[] = [
      { name: 'configuration', status: 'pass', summary: 'valid', ms: 1 },
      { name: 'database-role', status: 'warn', summary: 'superuser', fix: 'use the app role', ms: 2 },
      { name: 'audit-chain', status: 'skip', summary: 'not checked: database failed', ms: null },
    ];
    const table = formatTable(results, { strict: false });
    assert.match(table, /^gatehouse doctor: 1 passed, 1 warnings, 0 failed, 1 skipped\n/);
    assert.match(table, /WARN {2}database-role {2}superuser\n\s+fix: use the app role\n/);
    assert.match(table, /SKIP {2}audit-chain/);
    const json = JSON.parse(formatJSON(results, { strict: true, exitCode: 1 })) as { ok: boolean; strict: boolean; counts: Record<string, number>; checks: CheckResult[] };
    assert.deepEqual([json.ok, json.strict, json.counts], [false, true, { pass: 1, warn: 1, fail: 0, skip: 1 }]);
    assert.deepEqual(json.checks.map((entry) => entry.name), ['configuration', 'database-role', 'audit-chain']);
  });

  it('describes a failure in one line', () => {
    assert.equal(describeFailure(new Error('a\n  b')), 'a b');
    assert.equal(describeFailure('not an error'), 'unknown error');
  });
});
