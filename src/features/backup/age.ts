// age (https://age-encryption.org/v1) through the `age-encryption` package: backups are
// encrypted to public recipients, so the server that writes them cannot read them; only
// the holder of an identity (kept offline) can. Recipients are public keys (`age1…`);
// identities are secret keys (`AGE-SECRET-KEY-1…`), read from a file at restore time only.
import { readFile, stat } from 'node:fs/promises';
import type { Decrypter, Encrypter } from 'age-encryption';
import { lazyModule } from '../../core/lazy-module.ts';
import { BackupError } from './format.ts';

// age-encryption and the post-quantum code it carries (about 0.1 s of CPU to load) are
// needed by backups only: loaded by the first one instead of at start.
const age = lazyModule(() => import('age-encryption'));

/** An Encrypter for every recipient, refusing any that is not a valid age recipient. */
export async function encrypterFor(recipients: readonly string[]): Promise<Encrypter> {
  if (recipients.length === 0) throw new BackupError('no backup recipients: set BACKUP_RECIPIENTS to one or more age public keys (age1…)');
  const encrypter = new (await age()).Encrypter();
  for (const recipient of recipients) {
    try {
      encrypter.addRecipient(recipient);
    } catch {
      throw new BackupError(`not an age recipient: ${recipient.slice(0, 12)}…`);
    }
  }
  return encrypter;
}

/**
 * The identities in an age identity file (one `AGE-SECRET-KEY-…` per line, `#` comments),
 * as `age-keygen` and `gatehouse backup keygen` write it. A file others can read is refused:
 * whoever reads it reads every backup.
 */
export async function readIdentityFile(path: string): Promise<Decrypter> {
  let text: string;
  try {
    if (((await stat(path)).mode & 0o077) !== 0) throw new BackupError(`identity file ${path} is readable by other users: chmod 600 it`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError(`identity file ${path} cannot be read`);
  }
  const identities = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (identities.length === 0) throw new BackupError(`identity file ${path} holds no identity`);
  const decrypter = new (await age()).Decrypter();
  for (const identity of identities) {
    try {
      decrypter.addIdentity(identity);
    } catch {
      throw new BackupError(`identity file ${path} holds a line that is not an age identity`);
    }
  }
  return decrypter;
}

/** A new X25519 identity and its recipient, for `gatehouse backup keygen`. */
export async function generateBackupIdentity(): Promise<{ readonly identity: string; readonly recipient: string }> {
  const { generateX25519Identity, identityToRecipient } = await age();
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}
