// The three things an operator does with a backup file, as `gatehouse backup …` runs them:
// verify it (restored into a scratch in-memory database, never touching the real one),
// restore it (into an empty database, migrated to this build's schema), and report what
// was checked. Both run every check (restore.ts): the file against its manifest, age's
// authentication, the plaintext checksum and counts, the installation's MAC, the keys and
// the audit chain; a restore commits only when all pass.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Decrypter } from 'age-encryption';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { openPGlite, type Database } from '../../core/db/database.ts';
import { erasuresSince } from './erasures.ts';
import { BackupError } from './format.ts';
import { restoreBackup, type RestoreResult } from './restore.ts';

export interface BackupReport extends RestoreResult {
  /** Where the re-applied erasures were read (newer backups, ledger files). */
  readonly erasureSources: readonly string[];
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * When the manifest `backup create` wrote beside the file is there, the file must be the
 * one it describes: an early, clear answer for a file damaged in storage. Not a security
 * control (the manifest is in clear and may be missing); authenticity.ts is.
 */
export async function checkAgainstManifest(path: string): Promise<'matches' | 'no manifest'> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(`${path}.json`, 'utf8'));
  } catch {
    return 'no manifest';
  }
  const expected = typeof manifest === 'object' && manifest !== null ? (manifest as Record<string, unknown>)['file_sha256'] : undefined;
  if (typeof expected !== 'string') return 'no manifest';
  if ((await sha256File(path)) !== expected) throw new BackupError('backup is damaged: the file differs from its manifest (changed or corrupted since it was written)');
  return 'matches';
}

/** Restores into a scratch in-memory database and checks it; the scratch is discarded. */
export async function verifyBackupFile(path: string, decrypter: Decrypter, keyring: Keyring): Promise<BackupReport> {
  await checkAgainstManifest(path);
  const scratch = await openPGlite({ engine: 'pglite', dataDir: null });
  try {
    return { ...(await restoreBackup(scratch, path, decrypter, keyring, { erasures: [], filesDir: null, requireChecks: false })), erasureSources: [] };
  } finally {
    await scratch.close();
  }
}

/** Restores into `database` (which must be empty), re-applying later erasures; commits only when every check passes. */
export async function restoreBackupFile(database: Database, path: string, decrypter: Decrypter, keyring: Keyring, options: { filesDir: string | null; ledgerFiles: readonly string[] }): Promise<BackupReport> {
  await checkAgainstManifest(path);
  const erasures = await erasuresSince(path, decrypter, keyring, options.ledgerFiles);
  const restored = await restoreBackup(database, path, decrypter, keyring, { erasures: erasures.entries, filesDir: options.filesDir, requireChecks: true });
  return { ...restored, erasureSources: erasures.sources };
}
