// Reading a backup back: age decryption (every 64 KiB chunk authenticated, the last one
// marked, so a flipped byte or a cut file fails), gunzip, then the plaintext lines of
// format.ts, checked as they pass: the header first, rows only inside a table, the
// per-table counts and the SHA-256 of everything in the trailer, nothing after it. The
// caller sees each line as it comes and must treat what it did as provisional until
// `readBackup` resolves (restore runs inside one transaction that a failure rolls back).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Decrypter } from 'age-encryption';
import type { WrappedSystemKey } from './authenticity.ts';
import { joined, lineLengthLimit } from './streams.ts';
import { BackupError, parseLine, type BackupHeader, type BackupLine, type BackupTrailer } from './format.ts';

export interface BackupContents {
  readonly header: BackupHeader;
  readonly trailer: BackupTrailer;
  /** The backup's wrapped system keys, for the authenticity check (authenticity.ts). */
  readonly systemKeys: readonly WrappedSystemKey[];
}

async function decryptedStream(path: string, decrypter: Decrypter): Promise<Readable> {
  const source = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  try {
    return Readable.fromWeb(await decrypter.decrypt(source));
  } catch (error) {
    // The header is read before decrypt() resolves: no identity matched, or it is not age.
    const message = error instanceof Error ? error.message : '';
    if (/no identity matched/i.test(message)) throw new BackupError('none of the given identities can decrypt this backup (wrong identity file?)');
    throw new BackupError('not an age-encrypted backup, or its header is damaged');
  }
}

function systemKeyOf(raw: string): WrappedSystemKey {
  let row: unknown;
  try {
    row = JSON.parse(raw);
  } catch {
    throw new BackupError('backup is malformed: a bad system key row');
  }
  const { id, wrapped_key: wrapped } = (typeof row === 'object' && row !== null ? row : {}) as Record<string, unknown>;
  if (typeof id !== 'string' || typeof wrapped !== 'string') throw new BackupError('backup is malformed: a bad system key row');
  return { id, wrapped_key: wrapped };
}

class LineChecker {
  private readonly hash = createHash('sha256');
  private header: BackupHeader | null = null;
  private table: string | null = null;
  private readonly counts = new Map<string, number>();
  private files = 0;
  private readonly systemKeys: WrappedSystemKey[] = [];
  trailer: BackupTrailer | null = null;

  check(text: string): BackupLine {
    if (this.trailer !== null) throw new BackupError('backup is malformed: data after the trailer');
    const line = parseLine(text);
    if (line.kind !== 'E') this.hash.update(`${text}\n`, 'utf8');
    if (this.header === null && line.kind !== 'H') throw new BackupError('backup is malformed: no header');
    switch (line.kind) {
      case 'H':
        if (this.header !== null) throw new BackupError('backup is malformed: a second header');
        this.header = line.value;
        break;
      case 'T':
        if (this.counts.has(line.value.name)) throw new BackupError('backup is malformed: a table twice');
        this.table = line.value.name;
        this.counts.set(this.table, 0);
        break;
      case 'R':
        if (this.table === null) throw new BackupError('backup is malformed: a row outside a table');
        this.counts.set(this.table, (this.counts.get(this.table) ?? 0) + 1);
        if (this.table === 'system_keys') this.systemKeys.push(systemKeyOf(line.raw));
        break;
      case 'F':
        this.table = null;
        this.files += 1;
        break;
      case 'E':
        this.finish(line.value);
        break;
    }
    return line;
  }

  private finish(trailer: BackupTrailer): void {
    if (trailer.sha256 !== this.hash.digest('hex')) throw new BackupError('backup is damaged: its content does not match its checksum');
    const expected = Object.entries(trailer.tables);
    if (expected.length !== this.counts.size || expected.some(([name, count]) => this.counts.get(name) !== count) || trailer.files !== this.files) {
      throw new BackupError('backup is damaged: row counts differ from its trailer');
    }
    this.trailer = trailer;
  }

  result(): BackupContents {
    if (this.header === null || this.trailer === null) throw new BackupError('backup is truncated: no trailer');
    return { header: this.header, trailer: this.trailer, systemKeys: this.systemKeys };
  }
}

function describe(error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code.startsWith('Z_')) return new BackupError('backup is damaged: its compressed content is corrupt');
  if (code === 'ENOENT') return new BackupError('backup file not found');
  // age's chunk authentication (a flipped byte, a cut file) and anything else in decryption.
  return new BackupError('backup is damaged or truncated: decryption failed its integrity check');
}

/**
 * Decrypts and walks the backup at `path`, handing each line to `onLine` (awaited, so the
 * reader keeps pace), and answers its header and trailer once every check passed.
 */
/** An error of the caller's own work on a line (a constraint, a lost connection): passed on as it is. */
class CallerError extends Error {
  override readonly name = 'CallerError';
}

/** Longest plaintext line accepted: a row or a file's base64, 100 MiB uploads at most; more is a malformed or hostile backup. */
const MAX_LINE_BYTES = 320 << 20;

/**
 * Decrypts and walks the backup at `path`, handing each line to `onLine` (awaited, so the
 * reader keeps pace), and answers its header and trailer once every check passed. Errors of
 * decryption and decompression are described for the operator; an error thrown by
 * `onLine` is the caller's and comes back unchanged.
 */
export async function readBackup(path: string, decrypter: Decrypter, onLine: (line: BackupLine) => Promise<void> | void): Promise<BackupContents> {
  const checker = new LineChecker();
  try {
    const plaintext = joined(joined(await decryptedStream(path, decrypter), createGunzip()), lineLengthLimit(MAX_LINE_BYTES, () => new BackupError('backup is malformed: a line is longer than any backup writes')));
    const lines = createInterface({ input: plaintext, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const text of lines) {
        const line = checker.check(text);
        try {
          await onLine(line);
        } catch (error) {
          throw new CallerError('line handler failed', { cause: error });
        }
      }
    } finally {
      plaintext.destroy();
    }
    return checker.result();
  } catch (error) {
    if (error instanceof CallerError) throw error.cause;
    throw describe(error);
  }
}
