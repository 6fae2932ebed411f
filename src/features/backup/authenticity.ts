// Who made a backup. age encrypts to public recipients, so it keeps a backup secret and
// unmodified, but anyone who knows a recipient (it is public) can make a file that
// decrypts and checks out. A restore must not trust such a file: it could carry an admin
// account, a signing key or an erasure ledger of someone's choosing. So the trailer holds
// an HMAC-SHA256 of the plaintext's SHA-256, the counts and the audit head under the `backup-mac` system key, which only
// an installation holding the master key can unwrap; restore, verify and the erasure
// ledgers of newer backups all refuse a backup whose MAC does not verify under the
// configured master keys. The key travels wrapped in the backup itself (system_keys), so a
// restore into a new, empty database needs nothing but the master key.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { systemKeyAAD } from '../../core/crypto/system-keys.ts';
import { BackupError, type BackupTrailer } from './format.ts';

export const BACKUP_MAC_PURPOSE = 'backup-mac';
const CONTEXT = 'gatehouse-backup-v1:';

/** The MAC of a trailer: everything in it but the MAC (the counts, the audit head, the plaintext hash). */
export function backupMAC(key: Buffer, trailer: Omit<BackupTrailer, 'mac'>): string {
  const covered = JSON.stringify([trailer.sha256, trailer.audit_head, trailer.files, Object.entries(trailer.tables)]);
  return createHmac('sha256', key).update(`${CONTEXT}${covered}`, 'utf8').digest('hex');
}

export interface WrappedSystemKey {
  readonly id: string;
  readonly wrapped_key: string;
}

/** Throws unless the trailer's MAC verifies under the backup's own `backup-mac` key, unwrapped by `keyring`. */
export function assertAuthentic(trailer: BackupTrailer, systemKeys: readonly WrappedSystemKey[], keyring: Keyring): void {
  const refuse = (why: string): never => {
    throw new BackupError(`backup is not authentic: ${why} (made by an installation without these master keys, or forged)`);
  };
  if (trailer.mac.key_id !== BACKUP_MAC_PURPOSE) refuse('it names an unknown MAC key');
  const row = systemKeys.find((candidate) => candidate.id === trailer.mac.key_id);
  if (row === undefined) refuse('it holds no MAC key');
  let key: Buffer;
  try {
    key = keyring.unwrap(row?.wrapped_key ?? '', systemKeyAAD(trailer.mac.key_id));
  } catch {
    // The wrapped form names its master key (`v1.<id>.…`): say which one is missing.
    const masterKeyId = /^v1\.([a-z0-9][a-z0-9-]{0,31})\./.exec(row?.wrapped_key ?? '')?.[1];
    return refuse(masterKeyId === undefined ? 'its MAC key does not unwrap under the configured master keys' : `its keys are wrapped under master key "${masterKeyId}", which GATEHOUSE_MASTER_KEY does not hold or which does not match`);
  }
  const expected = Buffer.from(backupMAC(key, trailer), 'hex');
  key.fill(0);
  const given = Buffer.from(trailer.mac.value, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) refuse('its MAC does not verify');
}
