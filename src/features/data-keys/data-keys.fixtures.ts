// Shared by the data-key rotation suites: accounts with a value in every sealed column
// (name, sessions' device data, a TOTP secret, a file and an avatar), reads of all of it
// through the real routes, and a check that opens every sealed value in the database
// under its owner's current key.
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { TestApp } from '../../../test/helpers/app.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { unzip } from '../../../test/helpers/zip.ts';
import { createUser, type Account } from '../../../test/security/authz.fixtures.ts';
import { dataKeyAAD, decryptBytes, decryptField } from '../../core/crypto/envelope.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { MULTIPART, multipart, png } from '../files/files.fixtures.ts';
import { loadTotp } from '../mfa/repo.ts';
import { rotateAllDataKeys, rotateUserDataKey, type RotationHooks, type RotationSummary } from './rotation-run.ts';
import { SEALED_FIELDS } from './sealed-fields.ts';

export interface SeededAccount extends Account {
  readonly name: string;
  readonly token: string;
  readonly agent: string;
  readonly fileText: string;
  readonly totp: boolean;
}

export async function logIn(test: TestApp, account: { email: string; password: string }, agent: string): Promise<{ access_token: string; session_id: string }> {
  const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': agent }, payload: { email: account.email, password: account.password } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

/** An account with a value in every sealed column: name, two sessions, a file, an avatar, and (optionally) a TOTP secret. */
export async function seededAccount(test: TestApp, label: string, options: { readonly totp?: boolean } = {}): Promise<SeededAccount> {
  const name = `Name ${label} ${Date.now().toString(36)}`;
  const account = await createUser(test, { label, name });
  const agent = `Rotation/${label}`;
  const { access_token: token } = await logIn(test, account, agent);
  await logIn(test, account, `${agent}-second`);
  const fileText = `file of ${label}`;
  const uploaded = await test.app.inject({ method: 'POST', url: '/v1/me/files', headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART }, payload: multipart({ name: 'file', filename: `${label}.txt`, type: 'text/plain' }, Buffer.from(fileText)) });
  assert.equal(uploaded.statusCode, 201, uploaded.body);
  const avatar = await test.app.inject({ method: 'PUT', url: '/v1/me/avatar', headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART }, payload: multipart({ name: 'file', filename: 'me.png', type: 'image/png' }, await png(8, 8)) });
  assert.equal(avatar.statusCode, 200, avatar.body);
  if (options.totp === true) await enrolTotp(test, token);
  return { ...account, name, token, agent, fileText, totp: options.totp === true };
}

function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** Everything of the account, read through the routes the owner uses, as it was stored. */
export async function assertReadable(test: TestApp, account: SeededAccount, token: string = account.token): Promise<void> {
  const me = await test.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) });
  assert.equal(me.statusCode, 200, me.body);
  assert.equal(me.json<{ email: string }>().email, account.email);
  assert.equal(me.json<{ name: string }>().name, account.name);
  const sessions = await test.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: bearer(token) });
  assert.equal(sessions.statusCode, 200, sessions.body);
  const listed = sessions.json<{ ip: string | null; user_agent: string | null }[]>();
  assert.ok(listed.length >= 2);
  for (const session of listed) {
    assert.ok(session.ip !== null, 'every session shows its address');
    assert.ok(session.user_agent?.startsWith(account.agent), `user agent ${String(session.user_agent)}`);
  }
  const files = await test.app.inject({ method: 'GET', url: '/v1/me/files', headers: bearer(token) });
  assert.equal(files.statusCode, 200, files.body);
  const list = files.json<{ files: { id: string; name: string; purpose: string }[] }>().files;
  const file = list.find((entry) => entry.purpose === 'file');
  assert.ok(file !== undefined);
  const content = await test.app.inject({ method: 'GET', url: `/v1/me/files/${file.id}`, headers: bearer(token) });
  assert.equal(content.statusCode, 200, content.body);
  assert.equal(content.body, account.fileText);
  assert.equal((await test.app.inject({ method: 'GET', url: '/v1/me/avatar', headers: bearer(token) })).statusCode, 200);
  if (account.totp) assert.ok((await loadTotp(test.database.db, test.keyring, account.id))?.secret.base32);
}

/** The data export of the account: its profile and sessions, decrypted. */
export async function assertExportReadable(test: TestApp, account: SeededAccount, token: string): Promise<void> {
  const response = await test.app.inject({ method: 'GET', url: '/v1/me/export', headers: bearer(token) });
  assert.equal(response.statusCode, 200, response.body);
  const files = await unzip(response.rawPayload);
  const profile = JSON.parse(files.get('profile.json') ?? '{}') as { email?: string; name?: string };
  assert.equal(profile.email, account.email);
  assert.equal(profile.name, account.name);
  const sessions = (files.get('sessions.ndjson') ?? '').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { user_agent: string | null });
  assert.ok(sessions.length >= 2 && sessions.every((session) => session.user_agent?.startsWith(account.agent)));
  assert.ok([...files.keys()].some((name) => name.startsWith('files/')), 'the files are in the archive');
}

/** Opens every sealed value in the database under its owner's current key; answers how many it opened. */
export async function openEverySealedValue(db: DB, keyring: Keyring): Promise<number> {
  let opened = 0;
  for (const field of SEALED_FIELDS) {
    const { rows } = await sql<{ owner: string; row_id: string; value: string | Uint8Array; wrapped_key: string | null }>`
      SELECT s.${sql.ref(field.owner)}::text AS owner, s.${sql.ref(field.rowId)}::text AS row_id, s.${sql.ref(field.column)} AS value, k.wrapped_key
      FROM ${sql.table(field.table)} s LEFT JOIN data_keys k ON k.owner_id = s.${sql.ref(field.owner)}
      WHERE s.${sql.ref(field.column)} IS NOT NULL`.execute(db);
    for (const row of rows) {
      assert.ok(row.wrapped_key !== null, `${field.table}.${field.column} of ${row.row_id}: its owner has a key`);
      const dek = keyring.unwrap(row.wrapped_key, dataKeyAAD(row.owner));
      const context = { table: field.table, column: field.context, rowId: row.row_id };
      try {
        if (typeof row.value === 'string') decryptField(dek, context, row.value);
        else decryptBytes(dek, context, row.value);
      } catch (error) {
        assert.fail(`${field.table}.${field.column} of row ${row.row_id} does not open under its owner's current key: ${String(error)}`);
      }
      opened += 1;
    }
  }
  return opened;
}

export function rotationDeps(test: TestApp): { db: DB; keyring: Keyring; change: TestApp['services']['auth']['change'] } {
  return { db: test.database.db, keyring: test.keyring, change: test.services.auth.change };
}

export function rotateUser(test: TestApp, ownerId: string, hooks?: RotationHooks): ReturnType<typeof rotateUserDataKey> {
  return rotateUserDataKey(rotationDeps(test), ownerId, hooks === undefined ? {} : { hooks });
}

export function rotateAll(test: TestApp, batchSize: number, hooks?: RotationHooks): Promise<RotationSummary> {
  return rotateAllDataKeys(rotationDeps(test), { batchSize, ...(hooks === undefined ? {} : { hooks }) });
}
