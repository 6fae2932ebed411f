// The three things an operator does with a backup file, as `gatehouse backup …` runs them:
// verify it (restored into a scratch in-memory database, never touching the real one),
// restore it (into an empty database, then migrated to this build's schema), and check
// what either produced. Both re-check everything: the file against its manifest, age's
// authentication, the plaintext checksum and counts, the keys and the audit chain.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Decrypter } from 'age-encryption';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { openPGlite, type Database } from '../../core/db/database.ts';
import { migrate } from '../../core/db/migrate.ts';
import { checkRestored, type RestoredChecks } from './checks.ts';
import { erasuresSince } from './erasures.ts';
import { BackupError } from './format.ts';
import { restoreBackup, type RestoreResult } from './restore.ts';

export interface BackupReport extends RestoreResult {
  readonly checks: RestoredChecks;
  /** Migrations applied after the load, up to this build's schema. */
  readonly migrated: readonly number[];
  /** Where the re-applied erasures were read (newer backups, ledger files). */
  readonly erasureSources: readonly string[];
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** When the manifest `backup create` wrote beside the file is there, the file must be the one it describes. */
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

async function restoreAndCheck(database: Database, path: string, decrypter: Decrypter, keyring: Keyring, options: { filesDir: string | null; ledgerFiles: readonly string[]; reapplyErasures: boolean }): Promise<BackupReport> {
  const erasures = options.reapplyErasures ? await erasuresSince(path, decrypter, keyring, options.ledgerFiles) : { entries: [], sources: [] };
  const restored = await restoreBackup(database, path, decrypter, keyring, { erasures: erasures.entries, filesDir: options.filesDir });
  const migrated = await migrate(database);
  const checks = await checkRestored(database.db, keyring, restored.trailer.audit_head);
  return { ...restored, checks, migrated, erasureSources: erasures.sources };
}

/** Restores into a scratch in-memory database and checks it; the scratch is discarded. */
export async function verifyBackupFile(path: string, decrypter: Decrypter, keyring: Keyring): Promise<BackupReport> {
  await checkAgainstManifest(path);
  const scratch = await openPGlite({ engine: 'pglite', dataDir: null });
  try {
    return await restoreAndCheck(scratch, path, decrypter, keyring, { filesDir: null, ledgerFiles: [], reapplyErasures: false });
  } finally {
    await scratch.close();
  }
}

/** Restores into `database` (which must be empty), re-applying later erasures, and checks it. */
export async function restoreBackupFile(database: Database, path: string, decrypter: Decrypter, keyring: Keyring, options: { filesDir: string | null; ledgerFiles: readonly string[] }): Promise<BackupReport> {
  await checkAgainstManifest(path);
  return restoreAndCheck(database, path, decrypter, keyring, { ...options, reapplyErasures: true });
}
