// Settings of scheduled backups (features/backup): where they go, when, how many are kept,
// and to whom they are encrypted. Recipients are age public keys, so the server that
// writes backups holds nothing that reads them. BACKUP_RECIPIENTS may name a file
// (BACKUP_RECIPIENTS_FILE, one per line) as Docker and Kubernetes mount them.
import { Cron } from 'croner';
import { createRequire } from 'node:module';
import { accept, parseDirectory, parseInteger, refuse, type Parsed } from './parse-values.ts';
import type { Reader } from './reader.ts';

export interface BackupsConfig {
  /** Absolute; null: no scheduled backups (`gatehouse backup create --out` still works). */
  readonly dir: string | null;
  /** A cron expression (UTC), five or six fields. */
  readonly schedule: string;
  /** Scheduled backups kept in `dir`; older ones are removed after a new one is written. */
  readonly keep: number;
  readonly recipients: readonly string[];
}

export const DEFAULT_BACKUP_SCHEDULE = '0 3 * * *';

function parseSchedule(raw: string): Parsed<string> {
  try {
    // Only the standard fields: no seconds-level storms of backups.
    if (raw.trim().split(/\s+/).length !== 5) return refuse('must be a five-field cron expression (minute hour day month weekday), e.g. "0 3 * * *"');
    // `0 0 30 2 *` parses and never fires: the backups would silently never run.
    if (new Cron(raw, { paused: true, timezone: 'UTC' }).nextRun() === null) return refuse('never fires (no such date)');
    return accept(raw.trim());
  } catch {
    return refuse('is not a cron expression');
  }
}

// age-encryption (and the post-quantum code it carries, about 0.1 s of CPU to load) only
// when BACKUP_RECIPIENTS is set: configuration is read synchronously, so it is required,
// which Node does for an ES module without top-level await.
const requireModule = createRequire(import.meta.url);

function isAgeRecipient(text: string): boolean {
  const { Encrypter } = requireModule('age-encryption') as typeof import('age-encryption');
  try {
    new Encrypter().addRecipient(text);
    return true;
  } catch {
    return false;
  }
}

function parseRecipients(raw: string): Parsed<readonly string[]> {
  const recipients = raw.split(/[\s,]+/).filter((entry) => entry !== '' && !entry.startsWith('#'));
  if (recipients.length === 0 || recipients.length > 20) return refuse('must list 1 to 20 age recipients (age1…)');
  const bad = recipients.find((recipient) => !isAgeRecipient(recipient));
  return bad === undefined ? accept(recipients) : refuse('holds an entry that is not an age recipient (age1…); give public keys, never identities');
}

export function readBackups(reader: Reader, resolvePath: (path: string) => string): BackupsConfig {
  const dir = reader.take('BACKUP_DIR', reader.plain('BACKUP_DIR'), (raw) => {
    const parsed = parseDirectory(raw);
    return parsed.ok ? accept(resolvePath(parsed.value)) : parsed;
  }, null);
  const recipients = reader.take('BACKUP_RECIPIENTS', reader.secret('BACKUP_RECIPIENTS'), parseRecipients, []);
  if (dir !== null && recipients.length === 0 && !reader.hasProblem('BACKUP_RECIPIENTS')) reader.report('BACKUP_RECIPIENTS', 'must be set when BACKUP_DIR is (the age public keys backups are encrypted to)');
  return {
    dir,
    schedule: reader.take('BACKUP_SCHEDULE', reader.plain('BACKUP_SCHEDULE'), parseSchedule, DEFAULT_BACKUP_SCHEDULE),
    keep: reader.take('BACKUP_KEEP', reader.plain('BACKUP_KEEP'), (raw) => parseInteger(raw, { min: 1, max: 10_000 }), 7),
    recipients,
  };
}
