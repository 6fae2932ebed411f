// `gatehouse doctor --json` as an operator runs it: a child process, against a development
// configuration (it warns, and creates nothing), and against a production-shaped
// configuration on PostgreSQL where each finding is made to pass or fail on purpose.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresTestUrl, testEngines, withAdmin, type TestDatabase } from '../helpers/database.ts';
import { strongPassword } from '../helpers/http.ts';
import { documentedSQL } from '../helpers/least-privilege.ts';
import { freePort, runCommand, type CommandRun } from '../helpers/server-process.ts';

type Run = CommandRun;

interface Report {
  ok: boolean;
  counts: Record<'pass' | 'warn' | 'fail' | 'skip', number>;
  checks: { name: string; status: string; summary: string; fix?: string }[];
}

// Its own empty working directory: a developer's .env is never read.
const CWD = await mkdtemp(join(tmpdir(), 'gh-doctor-cwd-'));

function run(args: string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  return runCommand(args, { env, cwd: CWD, stdin });
}

async function doctor(env: Record<string, string>, flags: string[] = []): Promise<Run & { report: Report; status: (name: string) => string }> {
  const result = await run(['doctor', '--json', ...flags], env);
  let report: Report;
  try {
    report = JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${String(result.code)}): ${result.stdout}${result.stderr}`);
  }
  const status = (name: string): string => {
    const check = report.checks.find((entry) => entry.name === name);
    if (check === undefined) throw new Error(`no check ${name}`);
    return `${check.status}: ${check.summary}`;
  };
  return { ...result, report, status };
}

function newMasterKey(id: string): string {
  return `${id}:${randomBytes(32).toString('base64url')}`;
}

after(async () => {
  await rm(CWD, { recursive: true, force: true });
});

describe('gatehouse doctor on a development configuration', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gh-doctor-dev-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('warns that it is not production, fails the missing embedded database, skips what needs it, and creates nothing', async () => {
    const state = join(dataDir, 'fresh');
    const result = await doctor({ DATA_DIR: state });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.status('configuration'), /^warn: GATEHOUSE_ENV is development/);
    assert.match(result.status('master-key'), /^warn: /);
    assert.match(result.status('public-url'), /^warn: /);
    assert.match(result.status('database'), /^fail: could not run: no embedded database/);
    for (const name of ['migrations', 'database-role', 'audit-chain', 'signing-keys', 'key-wrapping']) assert.match(result.status(name), /^skip: not checked/, name);
    assert.equal(result.report.checks.filter((entry) => entry.status === 'pass' && /not checked/.test(entry.summary)).length, 0);
    assert.equal(existsSync(state), false, 'no database, no key file, not even DATA_DIR was created');
  });

  it('prints a table by default', async () => {
    const result = await run(['doctor'], { DATA_DIR: join(dataDir, 'fresh') });
    assert.match(result.stdout, /^gatehouse doctor: \d+ passed, \d+ warnings, 1 failed, \d+ skipped\n/);
    assert.match(result.stdout, /WARN {2}configuration +GATEHOUSE_ENV is development.*\n +fix: set GATEHOUSE_ENV=production/);
  });

  const baseURL = postgresTestUrl();
  const engine = testEngines().find((candidate) => candidate.engine === 'postgres');
  const redisURL = process.env['REDIS_URL_TEST'];
  it('on PostgreSQL over TCP without TLS and plain Redis: warnings only (exit 0), and with --strict exit 1', { skip: engine === undefined || baseURL === null ? 'set DATABASE_URL_TEST' : false }, async () => {
    const database = await engine?.open();
    try {
      const env = { DATA_DIR: join(dataDir, 'pg'), DATABASE_URL: database?.url ?? '', ...(redisURL === undefined ? {} : { REDIS_URL: redisURL }) };
      const result = await doctor(env);
      assert.equal(result.code, 0, result.stdout);
      assert.equal(result.report.counts.fail, 0, result.stdout);
      assert.match(result.status('database'), /^pass: reachable \(PostgreSQL/);
      assert.match(result.status('database-tls'), /^warn: DATABASE_URL must set sslmode=verify-full/);
      assert.match(result.status('database-role'), /^warn: connected as \S+, a superuser/);
      assert.match(result.status('migrations'), /^pass: current/);
      assert.match(result.status('key-wrapping'), /^pass: no stored keys yet/);
      if (redisURL !== undefined) {
        assert.match(result.status('redis-tls'), /^warn: REDIS_URL .* must be a rediss:\/\/ URL/);
        assert.match(result.status('redis'), /^pass: reachable/);
      }
      assert.equal((await doctor(env, ['--strict'])).code, 1);
      const closed = await doctor({ ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
      assert.equal(closed.code, 1);
      assert.match(closed.status('redis'), /^fail: could not run: unreachable: ECONNREFUSED/);
    } finally {
      await database?.cleanup();
    }
  });
});

/** The directory of the server's Unix socket, when this machine has it (production allows a socket without TLS). */
async function socketDirectory(url: string): Promise<string | null> {
  let found: string | null = null;
  await withAdmin(url, async (client) => {
    const result = await client.query<{ unix_socket_directories: string }>('SHOW unix_socket_directories');
    const port = new URL(url).port === '' ? '5432' : new URL(url).port;
    const dir = result.rows[0]?.unix_socket_directories.split(',')[0]?.trim() ?? '';
    if (dir !== '' && existsSync(join(dir, `.s.PGSQL.${port}`))) found = dir;
  });
  return found;
}

const baseURL = postgresTestUrl();
const engine = testEngines().find((candidate) => candidate.engine === 'postgres');
const socketDir = baseURL === null ? null : await socketDirectory(baseURL);

describe('gatehouse doctor on a production configuration on PostgreSQL', { skip: engine === undefined || socketDir === null ? 'needs DATABASE_URL_TEST and its Unix socket on this machine' : false }, () => {
  const role = `gatehouse_app_${randomBytes(5).toString('hex')}`;
  const k1 = newMasterKey('k1');
  const k2 = newMasterKey('k2');
  const smtpPassword = `smtp-${randomBytes(8).toString('hex')}`;
  let database: TestDatabase | undefined;
  let dataDir: string;
  let env: Record<string, string>;

  /** The test database through the Unix socket, as `user`. */
  function socketURL(user: string): string {
    const tcp = new URL(database?.url ?? '');
    const port = tcp.port === '' ? '' : `&port=${tcp.port}`;
    return `postgres://${encodeURIComponent(user)}@/${tcp.pathname.slice(1)}?host=${encodeURIComponent(socketDir ?? '')}${port}`;
  }

  before(async () => {
    database = await engine?.open();
    dataDir = await mkdtemp(join(tmpdir(), 'gh-doctor-prod-'));
    await chmod(dataDir, 0o700);
    env = {
      GATEHOUSE_ENV: 'production',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      DATABASE_URL: socketURL(new URL(database?.url ?? '').username || 'postgres'),
      GATEHOUSE_MASTER_KEY: k1,
      PUBLIC_URL: 'https://id.example.test',
      SMTP_URL: `smtps://mailer:${smtpPassword}@mail.example.test`,
      TRUST_PROXY: '127.0.0.1',
    };
  });

  after(async () => {
    await database?.cleanup();
    if (baseURL !== null) await withAdmin(baseURL, (client) => client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(role)}`));
    await rm(dataDir, { recursive: true, force: true });
  });

  function assertNoSecret(result: Run): void {
    for (const secret of [k1.slice(3), k2.slice(3), smtpPassword]) assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'a secret was printed');
  }

  it('a fresh database: production rules, TLS and the audit chain pass; no signing key yet and the superuser connection warn (exit 0)', async () => {
    const result = await doctor(env);
    assert.equal(result.code, 0, result.stdout);
    for (const name of ['configuration', 'master-key', 'public-url', 'cors', 'https', 'smtp-tls', 'database', 'database-tls', 'migrations', 'audit-chain', 'key-wrapping', 'data-dir']) {
      assert.match(result.status(name), /^pass: /, name);
    }
    assert.match(result.status('database-tls'), /Unix socket/);
    assert.match(result.status('signing-keys'), /^warn: no active signing key/);
    assert.match(result.status('database-role'), /^warn: .*superuser/);
    assert.match(result.status('redis-tls'), /^skip: /);
    assert.equal((await doctor(env, ['--strict'])).code, 1);
    assertNoSecret(result);
  });

  it('after a user is created and the signing keys rotated: signing keys and the audit chain pass', async () => {
    const created = await run(['users', 'create', '--email', 'admin@example.test', '--role', 'admin'], env, `${strongPassword()}\n`);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await run(['keys', 'rotate-signing'], env)).code, 0);
    const result = await doctor(env);
    assert.match(result.status('signing-keys'), /^pass: active key \S+ signing for 0 days .* next key \S+ published/);
    assert.match(result.status('audit-chain'), /^pass: intact: [1-9]\d* records verified/);
    assert.match(result.status('key-wrapping'), /^pass: all \d+ stored keys wrapped under the current master key k1/);
    assertNoSecret(result);
  });

  it('key-wrapping: a new master key not yet rotated to warns, rotate-master makes it pass, dropping the key in use fails', async () => {
    const rotating = { ...env, GATEHOUSE_MASTER_KEY: `${k2},${k1}` };
    const half = await doctor(rotating);
    assert.equal(half.code, 0);
    assert.match(half.status('key-wrapping'), /^warn: a master-key rotation is half done: \d+ under k1 \(current k2\)/);
    assert.match(half.report.checks.find((entry) => entry.name === 'key-wrapping')?.fix ?? '', /gatehouse keys rotate-master/);
    assert.equal((await run(['keys', 'rotate-master'], rotating)).code, 0);
    const done = await doctor(rotating);
    assert.match(done.status('key-wrapping'), /^pass: all \d+ stored keys wrapped under the current master key k2; k1 no longer wrap/);
    const lost = await doctor({ ...env, GATEHOUSE_MASTER_KEY: k1 });
    assert.equal(lost.code, 1);
    assert.match(lost.status('key-wrapping'), /^fail: stored keys wrapped under master keys the keyring does not hold \(\d+ under k2\)/);
    assertNoSecret(lost);
  });

  it('database-role: the documented least-privilege role passes', async () => {
    const names = { role, database: new URL(database?.url ?? '').pathname.slice(1) };
    await withAdmin(database?.url ?? '', async (client) => {
      await client.query(await documentedSQL('create', names));
      await client.query(await documentedSQL('grants', names));
    });
    const result = await doctor({ ...env, GATEHOUSE_MASTER_KEY: `${k2},${k1}`, DATABASE_URL: socketURL(role) });
    assert.equal(result.status('database-role'), `pass: ${role}: not a superuser, owns no tables, cannot rewrite audit records`);
    assert.equal(result.code, 0, result.stdout);
  });

  it('audit-chain: a record altered behind the append-only trigger fails the check and the command', async () => {
    await withAdmin(database?.url ?? '', async (client) => {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query("UPDATE audit_events SET action = 'user.nothing_to_see' WHERE seq = (SELECT min(seq) FROM audit_events)");
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    });
    const result = await doctor({ ...env, GATEHOUSE_MASTER_KEY: `${k2},${k1}` });
    assert.equal(result.code, 1);
    assert.match(result.status('audit-chain'), /^fail: BROKEN at seq \d+ \(hash_mismatch\)/);
    assert.deepEqual(await readdir(dataDir), [], 'doctor wrote nothing to DATA_DIR');
  });
});
