// The rotation re-seals the columns listed in SEALED_FIELDS, and nothing else: a column
// sealed under users' data keys that the list misses would be left under a destroyed key
// (unreadable for ever) by the first rotation. These checks fail when that can happen:
// - every column of the schema named like a sealed value (`*_ciphertext`, `*_sealed`,
//   `*_encrypted`, `wrapped*`) or of type bytea is either listed or explained;
// - every listed column, owner column and row-id column exists;
// - every source file that seals with the envelope helpers is a known one, and every
//   field context it writes (`{ table: 'x', column: 'y' }`) is listed.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openPGliteClone } from '../../../test/helpers/database.ts';
import type { Database } from '../../core/db/database.ts';
import { NOT_SEALED_UNDER_DATA_KEYS, SEALED_FIELDS } from './sealed-fields.ts';

const SRC = new URL('../../', import.meta.url).pathname;
const LOOKS_SEALED = /(_ciphertext|_sealed|_encrypted|_enc)$|wrapped/;

/** The files that seal with envelope.ts, and the tables each writes sealed values to. */
const KNOWN_SEALERS: Readonly<Record<string, readonly string[]>> = {
  'features/users/repo.ts': ['users'],
  'features/sessions/device.ts': ['sessions'],
  'features/mfa/repo.ts': ['mfa_totp'],
  'features/files/service.ts': ['user_files'],
  'features/data-keys/rotate-user.ts': [],
  // Under a system key, not a user's data key (not rotated by rotate-data-keys).
  'core/jobs/sealed-payload.ts': ['jobs'],
};
const SYSTEM_KEY_TABLES = new Set(['jobs']);

async function sourceFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.includes('fixtures')) found.push(path);
  }
  return found;
}

describe('every column sealed under a data key is rotated', () => {
  let database: Database;
  before(async () => {
    database = await openPGliteClone();
  });
  after(async () => {
    await database.close();
  });

  it('each column that looks sealed (by name or bytea type) is in SEALED_FIELDS or explained', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string; type: string }>`
      SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`.execute(database.db);
    assert.ok(rows.length > 50, 'the catalog was read');
    const listed = new Set(SEALED_FIELDS.map((field) => `${field.table}.${field.column}`));
    const candidates = rows.filter((row) => LOOKS_SEALED.test(row.column_name) || row.type === 'bytea').map((row) => `${row.table_name}.${row.column_name}`);
    assert.ok(candidates.includes('users.email_ciphertext') && candidates.includes('user_files.content'), 'the name and type rules find known sealed columns');
    const unexplained = candidates.filter((name) => !listed.has(name) && NOT_SEALED_UNDER_DATA_KEYS[name] === undefined);
    assert.deepEqual(unexplained, [], 'add these to SEALED_FIELDS (sealed under the owner data key) or to NOT_SEALED_UNDER_DATA_KEYS with the reason');
    const existing = new Set(rows.map((row) => `${row.table_name}.${row.column_name}`));
    for (const field of SEALED_FIELDS) {
      for (const column of [field.column, field.owner, field.rowId]) assert.ok(existing.has(`${field.table}.${column}`), `${field.table}.${column} exists`);
    }
    for (const name of Object.keys(NOT_SEALED_UNDER_DATA_KEYS)) assert.ok(existing.has(name), `${name} (explained as not sealed) exists`);
  });

  it('each source file that seals with the envelope helpers is known, and each field context it writes is listed', async () => {
    const contexts = new Set(SEALED_FIELDS.map((field) => `${field.table}/${field.context}`));
    const tables = new Set(SEALED_FIELDS.map((field) => field.table));
    const sealers: string[] = [];
    for (const path of await sourceFiles(SRC)) {
      const name = relative(SRC, path);
      if (name.startsWith('core/crypto/')) continue;
      const text = await readFile(path, 'utf8');
      if (!/import \{[^}]*\b(encryptField|encryptBytes|createFieldCipher)\b[^}]*\} from '[^']*crypto\/(envelope|field-cipher)\.ts'/.test(text)) continue;
      sealers.push(name);
      const known = KNOWN_SEALERS[name];
      assert.ok(known !== undefined, `${name} seals values: list its columns in SEALED_FIELDS (sealed-fields.ts) and the file in KNOWN_SEALERS`);
      for (const match of text.matchAll(/\btable: '([a-z_]+)'/g)) {
        const table = match[1] ?? '';
        assert.ok(tables.has(table) || SYSTEM_KEY_TABLES.has(table), `${name} seals into ${table}, which SEALED_FIELDS does not list`);
        assert.ok(known.includes(table), `${name} seals into ${table}: add it to KNOWN_SEALERS`);
      }
      for (const match of text.matchAll(/\{ table: '([a-z_]+)', column: '([a-z_]+)'/g)) {
        const table = match[1] ?? '';
        if (!SYSTEM_KEY_TABLES.has(table)) assert.ok(contexts.has(`${table}/${match[2] ?? ''}`), `${name}: the field ${table}/${match[2] ?? ''} is not in SEALED_FIELDS`);
      }
    }
    assert.deepEqual(sealers.sort(), Object.keys(KNOWN_SEALERS).sort(), 'every known sealer still seals (a stale entry hides nothing)');
  });
});
