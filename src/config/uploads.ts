// Settings of file uploads (features/files): how large one file may be, how much one
// account may store, how many uploads one account may make in a window, and where the
// contents are kept (the database unless FILES_DIR is set).
import { accept, parseDirectory, parseDuration, parseInteger } from './parse-values.ts';
import type { Reader } from './reader.ts';

export interface UploadsConfig {
  /** Bytes one uploaded file may have; the request is cut as soon as it passes this. */
  readonly maxBytes: number;
  /** Bytes one account may store in all (files and avatar, as stored). */
  readonly quotaBytes: number;
  /** Uploads (files and avatars) per account per window. */
  readonly rateLimit: { readonly max: number; readonly windowSeconds: number };
  /** Absolute; null keeps files in the database (the default). */
  readonly filesDir: string | null;
}

const MIB = 1_048_576;

export function readUploads(reader: Reader, resolvePath: (path: string) => string): UploadsConfig {
  const integer = (name: string, min: number, max: number, fallback: number): number =>
    reader.take(name, reader.plain(name), (raw) => parseInteger(raw, { min, max }), fallback);
  // 100 MiB at most: the file is held in memory (bounded by this limit) while its type is
  // checked, an image re-encoded and the whole encrypted.
  const maxBytes = integer('UPLOAD_MAX_BYTES', 1024, 100 * MIB, 5 * MIB);
  const quotaBytes = integer('UPLOAD_QUOTA_BYTES', 1024, 1024 * 1024 * MIB, 50 * MIB);
  if (quotaBytes < maxBytes && !reader.hasProblem('UPLOAD_MAX_BYTES') && !reader.hasProblem('UPLOAD_QUOTA_BYTES')) reader.report('UPLOAD_QUOTA_BYTES', 'must not be smaller than UPLOAD_MAX_BYTES');
  return {
    maxBytes,
    quotaBytes,
    rateLimit: {
      max: integer('UPLOAD_RATE_LIMIT_MAX', 1, 100_000, 30),
      windowSeconds: reader.take('UPLOAD_RATE_LIMIT_WINDOW', reader.plain('UPLOAD_RATE_LIMIT_WINDOW'), (raw) => parseDuration(raw, { min: 1, max: 86_400 }), 3600),
    },
    filesDir: reader.take('FILES_DIR', reader.plain('FILES_DIR'), (raw) => {
      const parsed = parseDirectory(raw);
      return parsed.ok ? accept(resolvePath(parsed.value)) : parsed;
    }, null),
  };
}
