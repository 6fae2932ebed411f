// Users: email and name are encrypted under the user's own data key, with the row id as
// associated data; lookups go through the blind index of the normalized email. Functions
// take the database or the caller's transaction first.
import type { BlindIndex } from '../../core/crypto/blind-index.ts';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { createDataKey, encryptField, decryptField, loadDataKeyToSeal, shredDataKey, unwrapDataKey } from '../../core/crypto/envelope.ts';
import { uuidv7 } from '../../core/crypto/ids.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { AliasedRawBuilder, ExpressionBuilder } from 'kysely';
import type { DB } from '../../core/db/database.ts';
import type { Schema } from '../../core/db/schema.ts';

export const DEFAULT_ROLE = 'user';

export interface UserRecord {
  readonly id: string;
  readonly emailIndex: string;
  readonly passwordHash: string | null;
  readonly emailVerified: boolean;
  readonly status: 'active' | 'disabled';
  readonly createdAt: Date;
  /** An operator forced a password reset (`gatehouse incident force-password-reset`); the reset flow clears it. */
  readonly passwordResetRequired: boolean;
}

export interface UserProfile {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly emailVerified: boolean;
  readonly roles: string[];
  readonly createdAt: Date;
}

export interface UserCrypto {
  readonly keyring: Keyring;
  readonly blindIndex: BlindIndex;
}

export interface NewUser {
  /** A UUIDv7 made from `now` unless given (a registration job gives its own id, so a retry finds its account). */
  readonly id?: string;
  readonly email: string;
  readonly name: string | null;
  readonly passwordHash: string | null;
  readonly emailVerified: boolean;
  readonly roles?: readonly string[];
  readonly now: Date;
}

const emailField = (id: string): { table: string; column: string; rowId: string } => ({ table: 'users', column: 'email', rowId: id });
const nameField = (id: string): { table: string; column: string; rowId: string } => ({ table: 'users', column: 'name', rowId: id });

/** The stored contact columns of one user, with that user's wrapped data key (null once shredded). */
export interface EncryptedContact {
  readonly id: string;
  readonly email_ciphertext: string;
  readonly name_ciphertext: string | null;
  readonly wrapped_key: string | null;
}

/** Decrypts email and name under the user's own data key; null once the key is shredded. */
export function decryptContact(keyring: Keyring, row: EncryptedContact): { email: string; name: string | null } | null {
  if (row.wrapped_key === null) return null;
  const dek = unwrapDataKey(keyring, row.id, row.wrapped_key);
  try {
    return {
      email: decryptField(dek, emailField(row.id), row.email_ciphertext),
      name: row.name_ciphertext === null ? null : decryptField(dek, nameField(row.id), row.name_ciphertext),
    };
  } finally {
    dek.fill(0);
  }
}

/** The roles of the row's user, as a JSON array column, for selects on `users`. */
export function rolesColumn(eb: ExpressionBuilder<Schema, 'users'>): AliasedRawBuilder<{ role: string }[], 'roles'> {
  return jsonArrayFrom(eb.selectFrom('user_roles').select('user_roles.role').whereRef('user_roles.user_id', '=', 'users.id').orderBy('user_roles.role')).as('roles');
}

/**
 * Inserts a user with a fresh data key; null when the email is already registered.
 * While a blind-index rotation moves rows, the address may be stored under either key's
 * index, and the unique constraint sees only one of them: so every candidate is checked
 * first, with the rotation state held (BlindIndex.forWrite) so that it cannot change
 * between this check and the insert. A row the move re-indexes meanwhile is seen under
 * one index or the other, never neither; two inserts of one new address collide on the
 * constraint, both being under the current key.
 */
export async function insertUser(trx: DB, crypto: UserCrypto, user: NewUser): Promise<string | null> {
  const index = await crypto.blindIndex.forWrite(trx);
  const candidates = index.emailCandidates(user.email);
  const taken = await trx.selectFrom('users').select('id').where('email_index', 'in', candidates).executeTakeFirst();
  if (taken !== undefined) return null;
  const id = user.id ?? uuidv7(user.now.getTime());
  const dek = await createDataKey(trx, crypto.keyring, id);
  try {
    const inserted = await trx
      .insertInto('users')
      .values({
        id,
        email_index: index.email(user.email),
        email_index_key: index.keyId,
        email_ciphertext: encryptField(dek, emailField(id), user.email.trim()),
        name_ciphertext: user.name === null ? null : encryptField(dek, nameField(id), user.name),
        password_hash: user.passwordHash,
        email_verified_at: user.emailVerified ? user.now : null,
        created_at: user.now,
        updated_at: user.now,
      })
      .onConflict((conflict) => conflict.column('email_index').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined) {
      await shredDataKey(trx, id);
      return null;
    }
    const roles = user.roles ?? [DEFAULT_ROLE];
    if (roles.length > 0) {
      await trx
        .insertInto('user_roles')
        .values(roles.map((role) => ({ user_id: id, role, granted_at: user.now })))
        .execute();
    }
    return id;
  } finally {
    dek.fill(0);
  }
}

function toRecord(row: {
  id: string;
  email_index: string;
  password_hash: string | null;
  email_verified_at: Date | null;
  status: 'active' | 'disabled';
  created_at: Date;
  password_reset_required_at: Date | null;
}): UserRecord {
  return {
    id: row.id,
    emailIndex: row.email_index,
    passwordHash: row.password_hash,
    emailVerified: row.email_verified_at !== null,
    status: row.status,
    createdAt: row.created_at,
    passwordResetRequired: row.password_reset_required_at !== null,
  };
}

const RECORD_COLUMNS = ['id', 'email_index', 'password_hash', 'email_verified_at', 'status', 'created_at', 'password_reset_required_at'] as const;

/** The user whose row holds exactly this index (a lockout subject, a stored index). */
export async function findUserByEmailIndex(db: DB, emailIndex: string): Promise<UserRecord | null> {
  const row = await db.selectFrom('users').select(RECORD_COLUMNS).where('email_index', '=', emailIndex).executeTakeFirst();
  return row === undefined ? null : toRecord(row);
}

/**
 * The user with this email address, whichever blind-index key their row is on: every
 * lookup of a typed address goes through here (or findUserWithRolesByEmailIndexes), so a
 * key rotation's moving rows are found by every feature alike.
 */
export async function findUserByEmail(db: DB, blindIndex: Pick<BlindIndex, 'emailCandidates'>, email: string): Promise<UserRecord | null> {
  const row = await db.selectFrom('users').select(RECORD_COLUMNS).where('email_index', 'in', blindIndex.emailCandidates(email)).executeTakeFirst();
  return row === undefined ? null : toRecord(row);
}

export type UserWithRoles = UserRecord & { readonly roles: string[] };

async function findUserWithRoles(db: DB, by: { readonly emailIndexes: readonly string[] } | { readonly id: string }): Promise<UserWithRoles | null> {
  const row = await db
    .selectFrom('users')
    .select((eb) => [...RECORD_COLUMNS, rolesColumn(eb)])
    .where((eb) => ('id' in by ? eb('id', '=', by.id) : eb('email_index', 'in', by.emailIndexes)))
    .executeTakeFirst();
  return row === undefined ? null : { ...toRecord(row), roles: row.roles.map((entry) => entry.role) };
}

/** As findUserByEmail, from the address's candidate indexes, with the roles in the same round trip (login needs both). */
export async function findUserWithRolesByEmailIndexes(db: DB, emailIndexes: readonly string[]): Promise<UserWithRoles | null> {
  if (emailIndexes.length === 0) return null;
  return findUserWithRoles(db, { emailIndexes });
}

/** The same by id (a login's second step, passkey login, re-authentication). */
export async function findUserWithRolesById(db: DB, id: string): Promise<UserWithRoles | null> {
  return findUserWithRoles(db, { id });
}

export async function findUserById(db: DB, id: string): Promise<UserRecord | null> {
  const row = await db.selectFrom('users').select(RECORD_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toRecord(row);
}

export async function listRoles(db: DB, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('user_roles').select('role').where('user_id', '=', userId).orderBy('role').execute();
  return rows.map((row) => row.role);
}

/**
 * Decrypts the profile; null when the user is gone or their data key was shredded.
 * One round trip: the user row, the wrapped data key and the roles come back together.
 */
export async function loadProfile(db: DB, keyring: Keyring, id: string): Promise<UserProfile | null> {
  const row = await db
    .selectFrom('users')
    .innerJoin('data_keys', 'data_keys.owner_id', 'users.id')
    .select((eb) => [
      'users.id',
      'users.email_ciphertext',
      'users.name_ciphertext',
      'users.email_verified_at',
      'users.created_at',
      'data_keys.wrapped_key',
      rolesColumn(eb),
    ])
    .where('users.id', '=', id)
    .executeTakeFirst();
  const contact = row === undefined ? null : decryptContact(keyring, row);
  if (row === undefined || contact === null) return null;
  return {
    id: row.id,
    ...contact,
    emailVerified: row.email_verified_at !== null,
    roles: row.roles.map((entry) => entry.role),
    createdAt: row.created_at,
  };
}

export async function updateName(trx: DB, keyring: Keyring, id: string, name: string | null, now: Date): Promise<boolean> {
  const dek = await loadDataKeyToSeal(trx, keyring, id);
  if (dek === null) return false;
  try {
    const result = await trx
      .updateTable('users')
      .set({ name_ciphertext: name === null ? null : encryptField(dek, nameField(id), name), updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  } finally {
    dek.fill(0);
  }
}

export async function setPasswordHash(trx: DB, id: string, passwordHash: string, now: Date): Promise<void> {
  await trx.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
}

/** A completed password reset lifts an operator's forced reset. */
export async function clearPasswordResetRequired(trx: DB, id: string): Promise<void> {
  await trx.updateTable('users').set({ password_reset_required_at: null }).where('id', '=', id).where('password_reset_required_at', 'is not', null).execute();
}

export async function markEmailVerified(trx: DB, id: string, now: Date): Promise<void> {
  await trx.updateTable('users').set({ email_verified_at: now, updated_at: now }).where('id', '=', id).where('email_verified_at', 'is', null).execute();
}

/**
 * Every index the user's lockout counters may be under: the stored one and, from the
 * decrypted address, each key's in force (two while a blind-index rotation moves rows,
 * when login counts under both). Lifting a lock lifts it under all of them.
 */
export async function lockoutSubjectsOf(db: DB, crypto: UserCrypto, user: { readonly id: string; readonly emailIndex: string }): Promise<string[]> {
  const email = await loadEmail(db, crypto.keyring, user.id);
  return [...new Set([user.emailIndex, ...(email === null ? [] : crypto.blindIndex.emailCandidates(email))])];
}

/** The user's email, decrypted for sending mail; null if shredded. */
export async function loadEmail(db: DB, keyring: Keyring, id: string): Promise<string | null> {
  const profile = await loadProfile(db, keyring, id);
  return profile?.email ?? null;
}
