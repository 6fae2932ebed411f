// Where a restore learns of the erasures made after its backup was taken. A backup still
// holds every wrapped data key of its day, and the master key still unwraps them, so
// crypto-shredding alone does not reach it; what does is the ledger (`shredded_keys`, one
// row per erased account, written in the erasure's transaction), which every later backup
// carries. `backup restore` reads the ledger of every other backup beside the restored one
// (same recipients, so the same identity opens them) and of any ledger file the operator
// gives (`gatehouse backup ledger` writes one from a live database), and re-applies them
// inside the restore's transaction. docs/privacy.md states the guarantee exactly.
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Decrypter } from 'age-encryption';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { assertAuthentic } from './authenticity.ts';
import { BackupError } from './format.ts';
import { readBackup } from './read.ts';
import type { ErasureEntry } from './restore.ts';

const LEDGER_TABLE = 'shredded_keys';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What `backup create` names its files in BACKUP_DIR, and what restore looks for beside a backup. */
export const BACKUP_FILE = /^gatehouse-backup-[0-9TZ-]+\.age$/;

function parseRow(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new BackupError('a ledger entry is malformed');
  }
}

function entryOf(value: unknown): ErasureEntry {
  if (typeof value !== 'object' || value === null) throw new BackupError('a ledger entry is malformed');
  const { owner_id: ownerId, shredded_at: shreddedAt } = value as Record<string, unknown>;
  if (typeof ownerId !== 'string' || !UUID.test(ownerId) || typeof shreddedAt !== 'string' || Number.isNaN(Date.parse(shreddedAt))) throw new BackupError('a ledger entry is malformed');
  return { ownerId, shreddedAt };
}

/** The ledger a backup carries; refused unless this installation made it. */
export async function ledgerOfBackup(path: string, decrypter: Decrypter, keyring: Keyring): Promise<{ readonly entries: ErasureEntry[] }> {
  const entries: ErasureEntry[] = [];
  let inLedger = false;
  const { trailer, systemKeys } = await readBackup(path, decrypter, (line) => {
    if (line.kind === 'T') inLedger = line.value.name === LEDGER_TABLE;
    else if (line.kind === 'F') inLedger = false;
    else if (line.kind === 'R' && inLedger) entries.push(entryOf(parseRow(line.raw)));
  });
  assertAuthentic(trailer, systemKeys, keyring);
  return { entries };
}

/** A ledger file: one `{"owner_id","shredded_at"}` per line. */
export async function readLedgerFile(path: string): Promise<ErasureEntry[]> {
  const entries: ErasureEntry[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        entries.push(entryOf(JSON.parse(line)));
      } catch {
        throw new BackupError(`ledger file ${path}: line ${entries.length + 1} is not a ledger entry`);
      }
    }
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError(`ledger file ${path} cannot be read`);
  }
  return entries;
}

/** The live database's ledger, for `gatehouse backup ledger`. */
export async function* ledgerLines(db: DB): AsyncGenerator<string> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await db.selectFrom('shredded_keys').select(['owner_id', 'shredded_at']).where('owner_id', '>', after).orderBy('owner_id').limit(1000).execute();
    for (const row of rows) yield `${JSON.stringify({ owner_id: row.owner_id, shredded_at: new Date(row.shredded_at).toISOString() })}\n`;
    const last = rows.at(-1);
    if (last === undefined || rows.length < 1000) return;
    after = last.owner_id;
  }
}

/**
 * Every erasure a restore of `path` must re-apply: the ledgers of all the other Gatehouse
 * backups beside it and of the given ledger files, joined. No time is compared: a ledger
 * only grows, so an older backup's ledger adds nothing and a newer one's adds what
 * happened since, and neither a clear manifest nor a clock has to be trusted. Each backup is
 * read whole and authenticated; one that is not (foreign, damaged, for another identity)
 * stops the restore, naming it.
 */
export async function erasuresSince(path: string, decrypter: Decrypter, keyring: Keyring, ledgerFiles: readonly string[]): Promise<{ readonly entries: ErasureEntry[]; readonly sources: string[] }> {
  const own = new Set((await ledgerOfBackup(path, decrypter, keyring)).entries.map((entry) => entry.ownerId));
  const byOwner = new Map<string, ErasureEntry>();
  const sources: string[] = [];
  const directory = dirname(path);
  for (const name of (await readdir(directory)).filter((candidate) => BACKUP_FILE.test(candidate) && candidate !== basename(path)).sort()) {
    const other = join(directory, name);
    let entries: ErasureEntry[];
    try {
      ({ entries } = await ledgerOfBackup(other, decrypter, keyring));
    } catch (error) {
      if (!(error instanceof BackupError)) throw error;
      throw new BackupError(`${other} (read for its erasure ledger): ${error.message}; move it away if it is not one of this installation's backups`);
    }
    const added = entries.filter((entry) => !own.has(entry.ownerId));
    for (const entry of added) byOwner.set(entry.ownerId, entry);
    if (added.length > 0) sources.push(other);
  }
  for (const file of ledgerFiles) {
    for (const entry of await readLedgerFile(file)) if (!own.has(entry.ownerId)) byOwner.set(entry.ownerId, entry);
    sources.push(file);
  }
  return { entries: [...byOwner.values()], sources };
}
