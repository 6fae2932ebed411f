// The backup's plaintext, before compression and encryption: UTF-8 lines, each a one-letter
// kind and a JSON value. The rows are PostgreSQL's own `row_to_json` text, carried as they
// are and handed back to `json_populate_recordset` on restore: JavaScript never parses a
// row, so no value (a bigint past 2^53, a bytea, a time zone) is changed on the way.
//
//   H {"format":"gatehouse-backup","version":1,...}    header, first line
//   T {"name":"users","columns":[...]}                  a table; its rows follow
//   R {...}                                             one row of the last table
//   F {"owner":"<uuid>","id":"<uuid>","data":"<b64>"}   a file's sealed content (FILES_DIR)
//   E {"tables":{...},"sha256":"...","mac":{...}}      trailer, last line
//
// The trailer's sha256 covers every byte before it; with age's authenticated chunks it
// makes a truncated or reordered plaintext as detectable as a flipped ciphertext byte.
export const BACKUP_FORMAT = 'gatehouse-backup';
export const BACKUP_FORMAT_VERSION = 1;

export interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: typeof BACKUP_FORMAT_VERSION;
  readonly created_at: string;
  readonly engine: 'pglite' | 'postgres';
  /** The newest migration applied to the database the backup was taken from. */
  readonly schema_version: number;
  readonly gatehouse_version: string;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export interface BackupTrailer {
  /** Rows per table. */
  readonly tables: Readonly<Record<string, number>>;
  /** Sealed file contents copied from FILES_DIR. */
  readonly files: number;
  readonly audit_head: AuditHead | null;
  /** Hex SHA-256 of every plaintext byte before the trailer line. */
  readonly sha256: string;
  /** HMAC-SHA256 of `sha256` under the installation's `backup-mac` system key (authenticity.ts). */
  readonly mac: { readonly key_id: string; readonly value: string };
}

/** What `backup create` writes in clear beside the encrypted file (`<file>.json`), and prints. */
export interface BackupManifest extends BackupHeader, Omit<BackupTrailer, 'sha256' | 'mac'> {
  readonly plaintext_sha256: string;
  /** Hex SHA-256 and size of the encrypted file as written. */
  readonly file_sha256: string;
  readonly file_bytes: number;
  readonly recipients: number;
}

export interface TableStart {
  readonly name: string;
  readonly columns: readonly string[];
}

export interface FileContent {
  readonly owner: string;
  readonly id: string;
  readonly data: string;
}

export type BackupLine =
  | { readonly kind: 'H'; readonly value: BackupHeader }
  | { readonly kind: 'T'; readonly value: TableStart }
  | { readonly kind: 'R'; readonly raw: string }
  | { readonly kind: 'F'; readonly value: FileContent }
  | { readonly kind: 'E'; readonly value: BackupTrailer };

/** Why a backup could not be read; the message is for the operator and names no secret. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

export function formatLine(kind: 'H' | 'T' | 'F' | 'E', value: unknown): string {
  return `${kind} ${JSON.stringify(value)}\n`;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJSON(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackupError(`backup is malformed: ${what} is not JSON`);
  }
  if (!isRecord(value)) throw new BackupError(`backup is malformed: ${what} is not an object`);
  return value;
}

function parseHeader(value: Record<string, unknown>): BackupHeader {
  if (value['format'] !== BACKUP_FORMAT) throw new BackupError('not a Gatehouse backup');
  if (value['version'] !== BACKUP_FORMAT_VERSION) throw new BackupError(`backup format version ${Number.isSafeInteger(value['version']) ? String(value['version']) : '(malformed)'} is not supported by this build (it reads version ${BACKUP_FORMAT_VERSION})`);
  const engine = value['engine'];
  const schema = value['schema_version'];
  const createdAt = value['created_at'];
  const version = value['gatehouse_version'];
  // Both are printed to an operator's terminal: only what they can legitimately be.
  const timeValid = typeof createdAt === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(createdAt) && !Number.isNaN(Date.parse(createdAt));
  const versionValid = typeof version === 'string' && /^[0-9A-Za-z.+-]{1,40}$/.test(version);
  if ((engine !== 'pglite' && engine !== 'postgres') || !Number.isSafeInteger(schema) || !timeValid || !versionValid) {
    throw new BackupError('backup is malformed: bad header');
  }
  return value as unknown as BackupHeader;
}

function parseTable(value: Record<string, unknown>): TableStart {
  const { name, columns } = value;
  // Names become quoted identifiers on restore; only what PostgreSQL could have named here.
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || !Array.isArray(columns) || columns.length === 0 || !columns.every((column) => typeof column === 'string' && IDENTIFIER.test(column))) {
    throw new BackupError('backup is malformed: bad table');
  }
  return { name, columns: columns as string[] };
}

function parseFile(value: Record<string, unknown>): FileContent {
  const { owner, id, data } = value;
  if (typeof owner !== 'string' || !UUID.test(owner) || typeof id !== 'string' || !UUID.test(id) || typeof data !== 'string') throw new BackupError('backup is malformed: bad file');
  return { owner, id, data };
}

function parseTrailer(value: Record<string, unknown>): BackupTrailer {
  const { tables, files, sha256, mac } = value;
  const macValid = isRecord(mac) && typeof mac['key_id'] === 'string' && typeof mac['value'] === 'string' && /^[0-9a-f]{64}$/.test(mac['value']);
  if (!isRecord(tables) || !Object.values(tables).every((count) => Number.isSafeInteger(count)) || !Number.isSafeInteger(files) || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || !macValid) {
    throw new BackupError('backup is malformed: bad trailer');
  }
  return value as unknown as BackupTrailer;
}

/** One plaintext line (without its newline). */
export function parseLine(line: string): BackupLine {
  const kind = line.slice(0, 2);
  const rest = line.slice(2);
  switch (kind) {
    case 'R ':
      return { kind: 'R', raw: rest };
    case 'H ':
      return { kind: 'H', value: parseHeader(parseJSON(rest, 'the header')) };
    case 'T ':
      return { kind: 'T', value: parseTable(parseJSON(rest, 'a table')) };
    case 'F ':
      return { kind: 'F', value: parseFile(parseJSON(rest, 'a file')) };
    case 'E ':
      return { kind: 'E', value: parseTrailer(parseJSON(rest, 'the trailer')) };
    default:
      throw new BackupError('backup is malformed: unknown line');
  }
}
