// `gatehouse backup …` as an operator runs it: an identity made with keygen, a backup of one
// installation restored into another (and, with DATABASE_URL_TEST, from PGlite into
// PostgreSQL), each command's exit code and what it prints.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { EMPTY_DIR, run } from '../helpers/cli.ts';

describe('gatehouse backup', { timeout: 240_000 }, () => {
  let work: string;
  let common: Record<string, string>;
  let identity: string;
  let recipient: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gh-backup-cli-'));
    // One master key for both installations: a restore needs the key that wrapped the backup's keys.
    common = { LOG_LEVEL: 'warn', GATEHOUSE_MASTER_KEY: `k1:${randomBytes(32).toString('base64url')}` };
    identity = join(work, 'identity.txt');
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
    await rm(EMPTY_DIR, { recursive: true, force: true });
  });

  it('keygen writes an identity only its owner can read, prints the recipient, and never overwrites', async () => {
    const made = await run(['backup', 'keygen', '--out', identity], common);
    assert.equal(made.code, 0, made.stderr);
    recipient = /recipient \(set BACKUP_RECIPIENTS to it\): (age1[0-9a-z]+)/.exec(made.stdout)?.[1] ?? '';
    assert.notEqual(recipient, '');
    assert.equal((await stat(identity)).mode & 0o777, 0o600);
    assert.ok(!made.stdout.includes('AGE-SECRET-KEY'), 'the identity is never printed');
    const again = await run(['backup', 'keygen', '--out', identity], common);
    assert.notEqual(again.code, 0);
  });

  it('creates, verifies and restores into an empty installation, whose audit chain then verifies; a second restore is refused', async () => {
    const source = { ...common, DATA_DIR: join(work, 'source') };
    const created = await run(['users', 'create', '--email', 'admin@example.test', '--role', 'admin'], source, 'a long and quite unusual passphrase\n');
    assert.equal(created.code, 0, created.stderr);
    const file = join(work, 'one.age');
    const backup = await run(['backup', 'create', '--out', file, '--recipient', recipient], source);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /backup written to .*one\.age \(\d+ bytes, \d+ rows in \d+ tables, 0 files, schema \d+, audit head seq \d+\)/);
    const manifest = JSON.parse(await readFile(`${file}.json`, 'utf8')) as { recipients: number };
    assert.equal(manifest.recipients, 1);

    const verified = await run(['backup', 'verify', file, '--identity', identity], source);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.match(verified.stdout, /audit chain: \d+ records verified; head matches/);
    assert.match(verified.stdout, /backup OK/);

    const target = { ...common, DATA_DIR: join(work, 'target') };
    const restored = await run(['backup', 'restore', file, '--identity', identity], target);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    assert.match(restored.stdout, /backup OK/);
    const audit = await run(['audit', 'verify'], target);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /audit chain intact/);
    const again = await run(['backup', 'restore', file, '--identity', identity], target);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /backup: the target database is not empty/);

    const usage = await run(['backup', 'verify', file], source);
    assert.equal(usage.code, 2);
  });

  const postgres = testEngines().find((engine) => engine.engine === 'postgres');
  if (postgres !== undefined) {
    it('restores a PGlite backup into PostgreSQL (moving a small installation to the scaled-out shape)', async () => {
      const empty: TestDatabase = await postgres.open({ migrate: false });
      try {
        const restored = await run(['backup', 'restore', join(work, 'one.age'), '--identity', identity], { ...common, DATA_DIR: join(work, 'pg'), DATABASE_URL: empty.url ?? '' });
        assert.equal(restored.code, 0, restored.stderr + restored.stdout);
        assert.match(restored.stdout, /backup taken .* on pglite/);
        assert.match(restored.stdout, /backup OK/);
        const users = await empty.database.db.selectFrom('users').select('id').execute();
        assert.equal(users.length, 1);
      } finally {
        await empty.cleanup();
      }
    });
  }
});
