// The `gatehouse` command as an operator runs it: a child process with its own DATA_DIR.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMPTY_DIR, run } from '../helpers/cli.ts';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.ts';

// LOG_LEVEL info, whatever `env` says: start is seen by the 'gatehouse listening' line.
function startServe(env: Record<string, string>, port: number): Promise<ServerProcess> {
  return startServer({ env: { ...env, LOG_LEVEL: 'info' }, port, cwd: EMPTY_DIR, startTimeoutMs: 60_000 });
}

describe('gatehouse CLI', () => {
  let dataDir: string;
  let env: Record<string, string>;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gh-cli-'));
    env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(EMPTY_DIR, { recursive: true, force: true });
  });

  it('config check refuses a weak production configuration, naming each problem and no secret', async () => {
    const weak = `k1:${Buffer.alloc(32, 'a').toString('base64url')}`;
    const result = await run(['config', 'check'], { GATEHOUSE_ENV: 'production', GATEHOUSE_MASTER_KEY: weak, CORS_ORIGINS: '*', PUBLIC_URL: 'http://id.example.test' });
    assert.equal(result.code, 2);
    for (const name of ['GATEHOUSE_MASTER_KEY', 'CORS_ORIGINS', 'PUBLIC_URL', 'SMTP_URL']) assert.ok(result.stderr.includes(name), name);
    assert.ok(!result.stderr.includes(Buffer.alloc(32, 'a').toString('base64url')));
  });

  it('config check prints the configuration with secrets masked', async () => {
    const key = `k1:${randomBytes(32).toString('base64url')}`;
    const result = await run(['config', 'check'], { ...env, GATEHOUSE_MASTER_KEY: key });
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(printed['GATEHOUSE_MASTER_KEY'], 'set (1 key)');
    assert.ok(!result.stdout.includes(key.slice(3)));
  });

  it('reads .env from the working directory, the process environment winning over it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-cli-dotenv-'));
    try {
      const key = `k1:${randomBytes(32).toString('base64url')}`;
      await writeFile(join(dir, '.env'), `# a comment\nGATEHOUSE_MASTER_KEY=${key}\nDATA_DIR=${join(dir, 'state')}\nPORT=9191\n`, { mode: 0o600 });
      const result = await run(['config', 'check'], { PORT: '8181', LOG_LEVEL: 'warn' }, undefined, dir);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '', 'a 0600 file raises no warning');
      const printed = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.equal(printed['GATEHOUSE_MASTER_KEY'], 'set (1 key)', 'the key came from the file');
      assert.equal(printed['DATA_DIR'], join(dir, 'state'));
      assert.equal(printed['PORT'], 8181, 'the environment wins over the file');
      const elsewhere = await run(['config', 'check'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
      assert.equal((JSON.parse(elsewhere.stdout) as Record<string, unknown>)['GATEHOUSE_MASTER_KEY'], 'unset', 'only the working directory is read');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a .env that other users can read or change (or that another user owns), naming no value; warns when its group can read it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-cli-dotenv-'));
    try {
      const key = `k1:${randomBytes(32).toString('base64url')}`;
      const file = join(dir, '.env');
      await writeFile(file, `GATEHOUSE_MASTER_KEY=${key}\nDATA_DIR=${join(dir, 'state')}\n`, { mode: 0o600 });
      for (const mode of [0o644, 0o604, 0o620, 0o602, 0o666]) {
        await chmod(file, mode);
        const refused = await run(['config', 'check'], { LOG_LEVEL: 'warn' }, undefined, dir);
        assert.equal(refused.code, 2, `mode ${mode.toString(8)}`);
        assert.match(refused.stderr, /refusing \.env: .*chmod 600 \.env/);
        assert.equal(refused.stdout, '');
        assert.ok(!refused.stderr.includes(key.slice(3)));
      }
      await chmod(file, 0o640);
      const warned = await run(['config', 'check'], { LOG_LEVEL: 'warn' }, undefined, dir);
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(warned.stderr, /warning: \.env can be read by its group/);
      if (process.getuid?.() === 0) {
        await chmod(file, 0o600);
        await chown(file, 4242, 4242);
        const foreign = await run(['config', 'check'], { LOG_LEVEL: 'warn' }, undefined, dir);
        assert.equal(foreign.code, 2);
        assert.match(foreign.stderr, /belongs to another user/);
      }
      // A .env symlinked to a file the operator can read (in a directory others can write
      // to, anyone could plant the link) is refused, not read.
      const target = join(dir, 'operator-secret');
      await writeFile(target, `GATEHOUSE_MASTER_KEY=${key}\n`, { mode: 0o600 });
      await rm(file);
      await symlink(target, file);
      const linked = await run(['config', 'check'], { LOG_LEVEL: 'warn' }, undefined, dir);
      assert.equal(linked.code, 2, linked.stdout);
      assert.match(linked.stderr, /\.env cannot be opened \(ELOOP\)/);
      assert.ok(!linked.stderr.includes(key.slice(3)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('unknown commands and bad flags print usage and exit 2', async () => {
    assert.equal((await run(['frobnicate'], env)).code, 2);
    // Names every object has are no commands either (it crashed on Object.prototype's).
    for (const name of ['constructor', 'toString', '__proto__']) {
      const result = await run([name], env);
      assert.equal(result.code, 2, name);
      assert.match(result.stderr, /usage: gatehouse <command>/);
    }
    assert.equal((await run(['users', 'create', '--password', 'x'], env)).code, 2);
    // Words after a command that takes none: usage, not a server started or a command run
    // (`serve --help` started the server, `keys rotate-signing --help` rotated the keys).
    const takingNone = [['serve', '--help'], ['serve', 'now'], ['config', 'check', 'extra'], ['keys', 'rotate-master', '--yes'], ['keys', 'rotate-signing', '--help'], ['keys', 'rotate-audit', 'now'], ['jobs', 'list', 'all'], ['incident', 'status', '--json']];
    for (const argv of takingNone) {
      const result = await run(argv, env);
      assert.equal(result.code, 2, argv.join(' '));
      assert.match(result.stderr, /usage: gatehouse <command>/, argv.join(' '));
      assert.equal(result.stdout, '', argv.join(' '));
    }
  });

  it('users create reads the password from stdin, refuses weak ones and duplicates', async () => {
    const created = await run(['users', 'create', '--email', 'admin@example.test', '--role', 'admin'], env, 'a long and quite unusual passphrase\n');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created user [0-9a-f-]{36} with roles user, admin/);
    const weak = await run(['users', 'create', '--email', 'weak@example.test'], env, 'password1234\n');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /password refused/);
    assert.ok(!weak.stderr.includes('password1234'));
    const duplicate = await run(['users', 'create', '--email', 'ADMIN@example.test'], env, 'another long unusual passphrase\n');
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);
    // Not `other@…`: the policy refuses a password containing the address's local part.
    const unknownRole = await run(['users', 'create', '--email', 'someone@example.test', '--role', 'superuser'], env, 'another long unusual passphrase\n');
    assert.equal(unknownRole.code, 1);
    assert.match(unknownRole.stderr, /no role named "superuser"/);
  });

  it('jobs list names the retention purges; jobs run runs one now and records it; an unknown job exits 2', async () => {
    const listed = await run(['jobs', 'list'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const names = listed.stdout.split('\n').filter((line) => !line.startsWith(' ')).map((line) => line.split('\t')[0]);
    for (const name of ['purge-sessions', 'purge-one-time-tokens', 'purge-login-challenges', 'purge-lockout-counters']) assert.ok(names.includes(name), name);
    const ran = await run(['jobs', 'run', 'purge-sessions'], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^purge-sessions: removed \d+$/m);
    assert.match((await run(['jobs', 'list'], env)).stdout, /purge-sessions\tevery 3600 s\tlast started /);
    assert.equal((await run(['jobs', 'run', 'no-such-job'], env)).code, 2);
  });

  it('audit verify reports an intact chain', async () => {
    const result = await run(['audit', 'verify'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /audit chain intact: [1-9]\d* records verified/);
  });

  it('audit prune refuses without a retention or --before, then prunes behind a checkpoint and the chain still verifies', async () => {
    const refused = await run(['audit', 'prune'], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /AUDIT_RETENTION_DAYS is not set/);
    assert.equal((await run(['audit', 'prune', '--before', '2999-01-01'], env)).code, 2, 'a cut-off in the future');
    for (const email of ['prune-a@example.test', 'prune-b@example.test']) {
      assert.equal((await run(['users', 'create', '--email', email], env, 'a long and quite unusual passphrase\n')).code, 0);
    }
    const pruned = await run(['audit', 'prune', '--before', new Date().toISOString()], env);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /audit prune: removed [1-9]\d* records .* \(through seq [1-9]\d*\); checkpoint [0-9a-f-]{36} hash [0-9a-f]{64}/);
    const kept = await run(['audit', 'prune', '--before', '2000-01-01'], { ...env, AUDIT_RETENTION_DAYS: '30' });
    assert.match(kept.stdout, /no records before 2000-01-01T00:00:00.000Z to remove/);
    const verified = await run(['audit', 'verify'], env);
    assert.equal(verified.code, 0, verified.stdout);
  });

  it('audit verify --file refuses a file that is not an export', async () => {
    const file = join(dataDir, 'not-an-export.ndjson');
    await writeFile(file, '{"seq":1}\n');
    const result = await run(['audit', 'verify', '--file', file], env);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /export BROKEN .*missing_header/);
  });

  it('keys rotate-master and rotate-signing work on the development key file', async () => {
    const master = await run(['keys', 'rotate-master'], env);
    assert.equal(master.code, 0, master.stderr);
    assert.match(master.stdout, /re-wrapped [1-9]\d* data keys, [1-9]\d* system keys and [1-9]\d* signing keys/);
    const signing = await run(['keys', 'rotate-signing'], env);
    assert.equal(signing.code, 0, signing.stderr);
    assert.match(signing.stdout, /signing keys rotated/);
  });

  it('keys retire-signing --now withdraws the active key on the embedded database, once', async () => {
    const rotated = await run(['keys', 'rotate-signing'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [, active, next] = /active (\S+), next (\S+),/.exec(rotated.stdout) ?? [];
    assert.ok(active !== undefined && next !== undefined, rotated.stdout);
    const retired = await run(['keys', 'retire-signing', active, '--now'], env);
    assert.equal(retired.code, 0, retired.stderr);
    assert.ok(retired.stdout.includes(`signing key ${active} retired now (it was active)`), retired.stdout);
    assert.ok(retired.stdout.includes(`active ${next}, next `), retired.stdout);
    assert.match(retired.stdout, /no REDIS_URL: each instance notices within 5 s/);
    const again = await run(['keys', 'retire-signing', active, '--now'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /is already retired \(since /);
    // One kid in 64 starts with '-': it is still the KID, never an option, in either order.
    for (const args of [['-jAbcdefghijklmnopqrst', '--now'], ['--now', '-jAbcdefghijklmnopqrst'], ['--now', '--', '-jAbcdefghijklmnopqrst']]) {
      const unknown = await run(['keys', 'retire-signing', ...args], env);
      assert.equal(unknown.code, 1, `${args.join(' ')}: ${unknown.stderr}`);
      assert.match(unknown.stderr, /no signing key -jAbcdefghijklmnopqrst: nothing retired/);
    }
  });

  it('keys rotate-blind-index re-keys every email index; addresses created before stay taken', async () => {
    assert.equal((await run(['keys', 'rotate-blind-index', '--batch-size', '0'], env)).code, 2);
    assert.equal((await run(['keys', 'rotate-blind-index', '--grace-seconds', '3601'], env)).code, 2);
    assert.equal((await run(['keys', 'rotate-blind-index', '--pause-ms', 'soon'], env)).code, 2);
    const rotated = await run(['keys', 'rotate-blind-index', '--grace-seconds', '0'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /blind-index key rotated: blind-index -> blind-index:2; [1-9]\d* users re-indexed by this run/);
    const duplicate = await run(['users', 'create', '--email', 'Admin@Example.test'], env, 'another long unusual passphrase\n');
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);
  });

  it('keys rotate-data-keys rotates one user (--user) or everyone (--all); bad flags exit 2', async () => {
    const created = await run(['users', 'create', '--email', 'rotated@example.test'], env, 'a long and entirely unusual phrase of words\n');
    assert.equal(created.code, 0, created.stderr);
    const id = /created user ([0-9a-f-]{36})/.exec(created.stdout)?.[1];
    assert.ok(id !== undefined);
    const one = await run(['keys', 'rotate-data-keys', '--user', id], env);
    assert.equal(one.code, 0, one.stderr);
    assert.ok(one.stdout.includes(`user ${id}: data key `), one.stdout);
    assert.match(one.stdout, /: data key [0-9a-f-]{36} replaced by [0-9a-f-]{36} \(run [0-9a-f-]{36}\)/);
    const all = await run(['keys', 'rotate-data-keys', '--all', '--batch', '1'], env);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^finished run [0-9a-f-]{36} \(keys created before .*\): [1-9]\d* data keys rotated, 0 skipped$/m);
    const unknown = await run(['keys', 'rotate-data-keys', '--user', '01234567-89ab-7def-8123-456789abcdef'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /has no data key/);
    for (const args of [[], ['--all', '--user', id], ['--user', 'not-a-uuid'], ['--all', '--batch', '0'], ['--user', id, '--batch', '5'], ['--all', '--pause-ms', '99999']]) {
      const refused = await run(['keys', 'rotate-data-keys', ...args], env);
      assert.equal(refused.code, 2, `${args.join(' ')}: ${refused.stderr}`);
    }
    const verified = await run(['audit', 'verify'], env);
    assert.equal(verified.code, 0, verified.stderr);
  });

  it('while serve runs on DATA_DIR, another command on it is refused at once and loses nothing; stopped, the command works and the server sees its change', async (t) => {
    const port = await freePort();
    const server = await startServe(env, port);
    t.after(() => server.stop());
    const started = Date.now();
    const refused = await run(['users', 'create', '--email', 'while-serving@example.test'], env, 'a long and quite unusual passphrase\n');
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /DATA_DIR .* is in use by another Gatehouse process .*stop the server, run the command, then start the server again/);
    assert.ok(Date.now() - started < 15_000, 'refused at once, not after opening the database');
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'the server is unaffected');
    assert.equal((await server.stop()).code, 0, server.output);

    const created = await run(['users', 'create', '--email', 'while-serving@example.test'], env, 'a long and quite unusual passphrase\n');
    assert.equal(created.code, 0, created.stderr);
    const again = await startServe(env, port);
    t.after(() => again.stop());
    assert.equal((await again.stop()).code, 0, again.output);
    const duplicate = await run(['users', 'create', '--email', 'while-serving@example.test'], env, 'another long unusual passphrase\n');
    assert.match(duplicate.stderr, /already exists/, 'the account survived the server starting and stopping on the same directory');
  });

  it('serve answers, with metrics on the loopback METRICS_PORT, then shuts both down cleanly on SIGTERM with exit code 0', async (t) => {
    const port = await freePort();
    const metricsPort = await freePort();
    const server = await startServe({ ...env, METRICS_PORT: String(metricsPort) }, port);
    t.after(() => server.stop());
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /gatehouse_http_request_duration_seconds_count\{[^}]*route="\/readyz"/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404, 'no METRICS_TOKEN: not on the public port');
    // Exit code 0 proves the metrics listener closed too: an open server would hold the
    // process until the shutdown deadline, which exits 1.
    assert.equal((await server.stop()).code, 0, server.output);
    assert.match(server.output, /shut down cleanly/);
  });
});
