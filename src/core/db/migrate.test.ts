import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { isCurrent, migrate, migrationStatus, MIGRATIONS_DIR, MigrationError, requireCurrentSchema } from './migrate.ts';

for (const engine of testEngines()) {
  describe(`migrations on ${engine.engine}`, () => {
    it('apply once, then re-apply as a no-op, leaving the schema current', async () => {
      const test = await engine.open({ migrate: false });
      try {
        const before = await migrationStatus(test.database);
        assert.ok(before.pending.length > 0);
        const first = await migrate(test.database);
        assert.deepEqual(first, before.pending);
        const second = await migrate(test.database);
        assert.deepEqual(second, []);
        assert.equal(isCurrent(await migrationStatus(test.database)), true);
      } finally {
        await test.cleanup();
      }
    });

    it('refuses a migration file edited after it was applied', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gh-migrations-'));
      const test = await engine.open({ migrate: false });
      try {
        await cp(MIGRATIONS_DIR, dir, { recursive: true });
        await writeFile(join(dir, '9000_probe.sql'), 'CREATE TABLE probe (id int);\n');
        await migrate(test.database, dir);
        await appendFile(join(dir, '9000_probe.sql'), 'ALTER TABLE probe ADD COLUMN sneaky text;\n');
        await assert.rejects(migrate(test.database, dir), (error: unknown) => {
          assert.ok(error instanceof MigrationError);
          assert.match(error.message, /changed on disk: 9000/);
          return true;
        });
        const status = await migrationStatus(test.database, dir);
        assert.deepEqual(status.modified, [9000]);
        assert.equal(isCurrent(status), false);
      } finally {
        await test.cleanup();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('requireCurrentSchema accepts exactly this build\'s migrations, and refuses one it does not know, one still pending, or one changed', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gh-migrations-'));
      const test = await engine.open({ migrate: false });
      const refusedWith = (pattern: RegExp) => (error: unknown): boolean => {
        assert.ok(error instanceof MigrationError);
        assert.match(error.message, pattern);
        return true;
      };
      try {
        await cp(MIGRATIONS_DIR, dir, { recursive: true });
        await assert.rejects(requireCurrentSchema(test.database, dir), refusedWith(/lacks migrations this build needs: 1, 2, /));
        await migrate(test.database, dir);
        await requireCurrentSchema(test.database, dir);
        // A newer build has migrated: this one does not know 9002.
        await writeFile(join(dir, '9002_newer.sql'), 'CREATE TABLE newer (id int);\n');
        await migrate(test.database, dir);
        await assert.rejects(requireCurrentSchema(test.database), refusedWith(/this build does not know: 9002/));
        // A build with one more migration than the database holds.
        await writeFile(join(dir, '9003_next.sql'), 'CREATE TABLE next (id int);\n');
        await assert.rejects(requireCurrentSchema(test.database, dir), refusedWith(/lacks migrations this build needs: 9003 /));
        await appendFile(join(dir, '9002_newer.sql'), 'ALTER TABLE newer ADD COLUMN sneaky text;\n');
        await assert.rejects(requireCurrentSchema(test.database, dir), refusedWith(/changed on disk: 9002/));
      } finally {
        await test.cleanup();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('rolls back a failing migration entirely', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gh-migrations-'));
      const test = await engine.open({ migrate: false });
      try {
        await cp(MIGRATIONS_DIR, dir, { recursive: true });
        await writeFile(join(dir, '9001_broken.sql'), 'CREATE TABLE half (id int);\nSELECT no_such_function();\n');
        await assert.rejects(migrate(test.database, dir));
        const status = await migrationStatus(test.database, dir);
        assert.deepEqual(status.applied, []);
      } finally {
        await test.cleanup();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
