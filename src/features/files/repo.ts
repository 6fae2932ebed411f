// The user_files table (migration 0018). Every read names the owner: a file is found by
// its id and its owner together, so another account's id is simply not there.
import { sql } from 'kysely';
import type { DB } from '../../core/db/database.ts';

export interface FileRow {
  readonly id: string;
  readonly purpose: 'file' | 'avatar';
  readonly media_type: string;
  readonly size_bytes: number;
  readonly name_ciphertext: string;
  readonly created_at: Date;
}

export interface FileRowWithContent extends FileRow {
  readonly content: Uint8Array;
}

/** A row as read for decryption: with its owner's wrapped data key, read in the same statement (null once shredded). */
export interface FileRowWithKey extends FileRow {
  readonly wrapped_key: string | null;
}

const COLUMNS = ['id', 'purpose', 'media_type', 'size_bytes', 'name_ciphertext', 'created_at'] as const;
const KEYED_COLUMNS = ['user_files.id', 'purpose', 'media_type', 'size_bytes', 'name_ciphertext', 'user_files.created_at', 'data_keys.wrapped_key'] as const;

function withKey(db: DB) {
  return db.selectFrom('user_files').leftJoin('data_keys', 'data_keys.owner_id', 'user_files.user_id');
}

/** Locks the owner's row for the rest of the transaction: concurrent uploads check the quota one at a time. Null when there is no such user. */
export async function lockOwner(trx: DB, ownerId: string): Promise<string | null> {
  const row = await trx.selectFrom('users').select('id').where('id', '=', ownerId).forUpdate().executeTakeFirst();
  return row?.id ?? null;
}

export async function userExists(db: DB, userId: string): Promise<boolean> {
  return (await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
}

export async function usage(trx: DB, ownerId: string): Promise<{ readonly bytes: number; readonly files: number }> {
  const row = await trx
    .selectFrom('user_files')
    .select([sql<string>`coalesce(sum(size_bytes), 0)`.as('bytes'), sql<string>`count(*)`.as('files')])
    .where('user_id', '=', ownerId)
    .executeTakeFirstOrThrow();
  return { bytes: Number(row.bytes), files: Number(row.files) };
}

export async function insertFile(trx: DB, row: FileRowWithContent & { readonly user_id: string }): Promise<void> {
  await trx.insertInto('user_files').values(row).execute();
}

/** Removes the owner's avatar, if any; its id, for the audit record. */
export async function deleteAvatar(trx: DB, ownerId: string): Promise<string | null> {
  const row = await trx.deleteFrom('user_files').where('user_id', '=', ownerId).where('purpose', '=', 'avatar').returning('id').executeTakeFirst();
  return row?.id ?? null;
}

export async function listFiles(db: DB, ownerId: string): Promise<FileRowWithKey[]> {
  return withKey(db).select(KEYED_COLUMNS).where('user_files.user_id', '=', ownerId).orderBy('user_files.created_at', 'desc').orderBy('user_files.id', 'desc').execute();
}

export async function findFile(db: DB, ownerId: string, fileId: string): Promise<(FileRowWithContent & FileRowWithKey) | null> {
  const row = await withKey(db).select([...KEYED_COLUMNS, 'content']).where('user_files.user_id', '=', ownerId).where('user_files.id', '=', fileId).executeTakeFirst();
  return row ?? null;
}

export async function findAvatar(db: DB, ownerId: string): Promise<(FileRowWithContent & FileRowWithKey) | null> {
  const row = await withKey(db).select([...KEYED_COLUMNS, 'content']).where('user_files.user_id', '=', ownerId).where('purpose', '=', 'avatar').executeTakeFirst();
  return row ?? null;
}


export async function deleteFile(trx: DB, ownerId: string, fileId: string): Promise<FileRow | null> {
  const row = await trx.deleteFrom('user_files').where('user_id', '=', ownerId).where('id', '=', fileId).returning(COLUMNS).executeTakeFirst();
  return row ?? null;
}
