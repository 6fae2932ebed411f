// Storing, reading and deleting a user's files. A file's content and name are encrypted
// under the owner's data key, each bound to its row and column (envelope.ts): deleting
// the account shreds the key, and with it every file, wherever a copy of the row went.
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import { decryptBytes, decryptField, encryptBytes, encryptField, loadDataKeyToSeal, unwrapDataKey, type FieldContext } from '../../core/crypto/envelope.ts';
import { uuidv7 } from '../../core/crypto/ids.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import type { ContentStore } from './content-store.ts';
import { detectType, isImageType, MEDIA_TYPES, UploadRefused, type MediaType } from './detect-type.ts';
import { sanitizeFilename } from './filename.ts';
import { reencodeImage } from './image.ts';
import { deleteAvatar, deleteFile, findAvatar, findFile, insertFile, listFiles, lockOwner, usage, type FileRow } from './repo.ts';

/** However small the files, one account holds at most this many (the list is one page). */
export const MAX_FILES_PER_ACCOUNT = 1000;

export interface FilesDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly change: Changes;
  /** Where sealed contents live: the database row, or FILES_DIR. */
  readonly store: ContentStore;
}

export interface FileInfo {
  readonly id: string;
  readonly purpose: 'file' | 'avatar';
  readonly name: string;
  readonly mediaType: MediaType;
  readonly sizeBytes: number;
  readonly createdAt: Date;
}

export interface FileContent extends FileInfo {
  readonly bytes: Buffer;
}

export interface Upload {
  readonly ownerId: string;
  readonly purpose: 'file' | 'avatar';
  readonly bytes: Buffer;
  readonly clientName: string;
  readonly declared: string | null;
}

const nameField = (id: string): FieldContext => ({ table: 'user_files', column: 'name', rowId: id });
const contentField = (id: string): FieldContext => ({ table: 'user_files', column: 'content', rowId: id });

function mediaTypeOf(stored: string): MediaType {
  const type = MEDIA_TYPES.find((known) => known === stored);
  if (type === undefined) throw new Error('a stored file has an unknown media type');
  return type;
}

// A shredded owner has no files left to read or write: the same answer as no file.
const noDataKey = (): AppError => new AppError('not_found', { detail: 'owner has no data key' });

/** The key to seal an upload under, locked for the upload's transaction (a rotation waits). */
async function dataKeyToSeal(trx: DB, keyring: Keyring, ownerId: string): Promise<Buffer> {
  const dek = await loadDataKeyToSeal(trx, keyring, ownerId);
  if (dek === null) throw noDataKey();
  return dek;
}

// Reads take the wrapped key from the same statement as the rows (a join): a data-key
// rotation committing between two statements would pair the old key with new ciphertexts.
function dataKeyOfRow(keyring: Keyring, ownerId: string, row: { readonly wrapped_key: string | null }): Buffer {
  if (row.wrapped_key === null) throw noDataKey();
  return unwrapDataKey(keyring, ownerId, row.wrapped_key);
}

function infoOf(dek: Buffer, row: FileRow): FileInfo {
  return {
    id: row.id,
    purpose: row.purpose,
    name: decryptField(dek, nameField(row.id), row.name_ciphertext),
    mediaType: mediaTypeOf(row.media_type),
    sizeBytes: row.size_bytes,
    createdAt: new Date(row.created_at),
  };
}

function contentOf(dek: Buffer, row: FileRow, sealed: Uint8Array): FileContent {
  return { ...infoOf(dek, row), bytes: decryptBytes(dek, contentField(row.id), sealed) };
}

/** What is stored for an upload: its type by content, and an image re-encoded without metadata. */
async function prepare(upload: Upload, name: string): Promise<{ readonly type: MediaType; readonly content: Buffer }> {
  if (upload.bytes.length === 0) throw new AppError('invalid_request', { detail: 'empty file', fields: [{ field: '/body/file', rule: 'minLength' }] });
  const type = await detectType(upload.bytes, { name, declared: upload.declared });
  if (!isImageType(type)) {
    if (upload.purpose === 'avatar') throw new UploadRefused('type_not_allowed', 'file_type_not_allowed', `avatar of type ${type}`);
    return { type, content: upload.bytes };
  }
  return { type, content: await reencodeImage(upload.bytes, type, { shape: upload.purpose }) };
}

/** Checks, re-encodes, encrypts and stores one upload (an avatar replaces the previous one); audited. Throws UploadRefused. */
export async function storeUpload(deps: FilesDeps, upload: Upload, context: RequestContext, quotaBytes: number): Promise<FileInfo> {
  const name = sanitizeFilename(upload.clientName);
  const { type, content } = await prepare(upload, name);
  const id = uuidv7(deps.clock().getTime());
  const createdAt = deps.clock();
  const written = { content: false, replaced: null as string | null };
  try {
    const stored = await deps.change(context, async ({ trx, audit }) => {
      if ((await lockOwner(trx, upload.ownerId)) === null) throw new AppError('not_found', { detail: 'no such owner' });
      const dek = await dataKeyToSeal(trx, deps.keyring, upload.ownerId);
      try {
        written.replaced = upload.purpose === 'avatar' ? await deleteAvatar(trx, upload.ownerId) : null;
        const used = await usage(trx, upload.ownerId);
        if (used.bytes + content.length > quotaBytes || used.files >= MAX_FILES_PER_ACCOUNT) {
          throw new UploadRefused('quota', 'storage_quota_exceeded', `${used.bytes} + ${content.length} bytes over ${quotaBytes}, or ${used.files} files`);
        }
        const column = await deps.store.save(upload.ownerId, id, encryptBytes(dek, contentField(id), content));
        written.content = true;
        await insertFile(trx, {
          id,
          user_id: upload.ownerId,
          purpose: upload.purpose,
          media_type: type,
          size_bytes: content.length,
          name_ciphertext: encryptField(dek, nameField(id), name),
          content: column,
          created_at: createdAt,
        });
        audit({
          actor: { type: 'user', id: upload.ownerId },
          action: 'file.uploaded',
          target: { type: 'user', id: upload.ownerId },
          outcome: 'success',
          details: { file_id: id, purpose: upload.purpose, media_type: type, size_bytes: content.length, ...(written.replaced === null ? {} : { replaced: written.replaced }) },
        });
        return { id, purpose: upload.purpose, name, mediaType: type, sizeBytes: content.length, createdAt };
      } finally {
        dek.fill(0);
      }
    });
    if (written.replaced !== null) await deps.store.discard(upload.ownerId, written.replaced);
    return stored;
  } catch (error) {
    // The row never committed: its content must not stay behind on disk.
    if (written.content) await deps.store.discard(upload.ownerId, id);
    throw error;
  }
}

export async function listOwnFiles(deps: Pick<FilesDeps, 'db' | 'keyring'>, ownerId: string): Promise<FileInfo[]> {
  const rows = await listFiles(deps.db, ownerId);
  const [first] = rows;
  if (first === undefined) return [];
  const dek = dataKeyOfRow(deps.keyring, ownerId, first);
  try {
    return rows.map((row) => infoOf(dek, row));
  } finally {
    dek.fill(0);
  }
}

/** One file with its content, decrypted; null when the owner has no such file (another owner's id included). */
export async function readOwnFile(deps: Pick<FilesDeps, 'db' | 'keyring' | 'store'>, ownerId: string, which: { readonly fileId: string } | 'avatar'): Promise<FileContent | null> {
  const row = which === 'avatar' ? await findAvatar(deps.db, ownerId) : await findFile(deps.db, ownerId, which.fileId);
  if (row === null) return null;
  const sealed = await deps.store.load(ownerId, row.id, row.content);
  if (sealed === null) return null;
  const dek = dataKeyOfRow(deps.keyring, ownerId, row);
  try {
    return contentOf(dek, row, sealed);
  } finally {
    dek.fill(0);
  }
}

/** Deletes one of the owner's files; false when there is no such file. Audited. */
export async function removeFile(deps: FilesDeps, ownerId: string, fileId: string, context: RequestContext): Promise<boolean> {
  const removed = await deps.change(context, async ({ trx, audit }) => {
    const row = await deleteFile(trx, ownerId, fileId);
    if (row === null) return false;
    audit({
      actor: { type: 'user', id: ownerId },
      action: 'file.deleted',
      target: { type: 'user', id: ownerId },
      outcome: 'success',
      details: { file_id: fileId, purpose: row.purpose },
    });
    return true;
  });
  // Only once the row is gone for good: a rolled-back delete keeps its content.
  if (removed) await deps.store.discard(ownerId, fileId);
  return removed;
}
