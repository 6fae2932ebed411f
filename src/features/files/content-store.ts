// Where a file's sealed content lives. By default in its database row (PGlite and
// PostgreSQL alike, and every instance sees it); with FILES_DIR, in a directory, one file
// per upload at `<FILES_DIR>/<owner id>/<file id>`, both ids made by the server and
// checked as UUIDs before they touch a path: no name, extension or path from the client
// is ever part of it. Directories are 0700 and files 0600, written whole to a temporary
// name, synced and renamed, so a reader never sees half a file.
//
// Either way the bytes are sealed under the owner's data key and bound to the file's row
// (envelope.ts): a file copied or moved to another owner's folder does not open, and
// erasing the account shreds the key, leaving whatever is on disk unreadable.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UUID_PATTERN } from '../../core/crypto/ids.ts';

export interface ContentStore {
  readonly kind: 'database' | 'directory';
  /** Keeps the sealed bytes; answers what the row's `content` column holds. */
  save(ownerId: string, fileId: string, sealed: Buffer): Promise<Buffer>;
  /** The sealed bytes of a row; null when they are gone. */
  load(ownerId: string, fileId: string, column: Uint8Array): Promise<Uint8Array | null>;
  /** Drops the bytes of a row that is gone (deleted, or never committed). */
  discard(ownerId: string, fileId: string): Promise<void>;
}

export function databaseStore(): ContentStore {
  return {
    kind: 'database',
    save: (_ownerId, _fileId, sealed) => Promise.resolve(sealed),
    load: (_ownerId, _fileId, column) => Promise.resolve(column),
    discard: () => Promise.resolve(),
  };
}

function assertId(id: string): string {
  if (!UUID_PATTERN.test(id)) throw new TypeError('a stored file is named by server-made UUIDs only');
  return id;
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

export function directoryStore(root: string): ContentStore {
  const folderOf = (ownerId: string): string => join(root, assertId(ownerId));
  const pathOf = (ownerId: string, fileId: string): string => join(folderOf(ownerId), assertId(fileId));
  return {
    kind: 'directory',
    async save(ownerId, fileId, sealed) {
      const path = pathOf(ownerId, fileId);
      await mkdir(folderOf(ownerId), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${randomUUID()}.partial`;
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(sealed);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      // The row holds nothing but marks where the content is.
      return Buffer.alloc(0);
    },
    async load(ownerId, fileId, column) {
      // A row written before FILES_DIR was set still holds its content.
      if (column.length > 0) return column;
      try {
        return await readFile(pathOf(ownerId, fileId));
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async discard(ownerId, fileId) {
      try {
        await unlink(pathOf(ownerId, fileId));
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    },
  };
}
