// No migration changes a column's type unless it says so. Older instances keep serving
// while a new one migrates (a rolling upgrade), and their connections keep the statements
// they prepared (prepared-statements.ts). A prepared statement keeps the parameter types
// of its first parse: after a column's type changes it does not fail, it compares by the
// old type (prepared-statements.test.ts shows a timestamp compared without its offset).
// So such a migration needs every older instance stopped first (docs/operations.md,
// "Connections to PostgreSQL"), and its file must carry MARKER to show its author knew.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readMigrationFiles } from './migrate.ts';

const MARKER = '-- changes a column type: stop every older instance before applying (docs/operations.md)';

function withoutComments(text: string): string {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

// `alter [column] name type` or `alter [column] name set data type`, read word by word.
// `alter type` (an enum or composite type) is a different statement and does not match.
function changesColumnType(text: string): boolean {
  const words = withoutComments(text).toLowerCase().split(/[\s;,()]+/).filter((word) => word !== '');
  return words.some((word, index) => {
    if (word !== 'alter') return false;
    const column = words[index + 1] === 'column' ? index + 2 : index + 1;
    const [first, second, third] = words.slice(column + 1, column + 4);
    return words[column] !== undefined && (first === 'type' || (first === 'set' && second === 'data' && third === 'type'));
  });
}

describe('migrations and column types', () => {
  it('recognises a column type change in each form PostgreSQL accepts, and nothing else', () => {
    for (const statement of [
      'ALTER TABLE users ALTER COLUMN email TYPE citext',
      'alter table users alter email type citext',
      'ALTER TABLE users ALTER COLUMN "created_at" SET DATA TYPE timestamptz USING created_at AT TIME ZONE \'UTC\'',
      'alter table t\n  alter column n\n  type bigint',
    ]) {
      assert.equal(changesColumnType(statement), true, statement);
    }
    for (const statement of [
      "ALTER TYPE session_kind ADD VALUE 'device'",
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL',
      'ALTER TABLE users ADD COLUMN kind text',
      'CREATE TYPE role_kind AS ENUM (\'a\')',
      '-- once: alter column n type bigint\nALTER TABLE t ADD COLUMN m int',
    ]) {
      assert.equal(changesColumnType(statement), false, statement);
    }
  });

  it('every migration that changes a column type carries the marker', async () => {
    const files = await readMigrationFiles();
    assert.ok(files.length > 20, `migrations found: ${files.length}`);
    const unmarked = files.filter((file) => changesColumnType(file.sql) && !file.sql.includes(MARKER)).map((file) => file.version);
    assert.deepEqual(unmarked, [], `a migration changes a column type without the line "${MARKER}"`);
  });
});
