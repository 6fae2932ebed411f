// Scheduled backups: with BACKUP_DIR set, the scheduler (core/jobs/scheduler.ts: one
// instance of a cluster claims each slot) writes an encrypted backup at every
// BACKUP_SCHEDULE slot, keeps the newest BACKUP_KEEP, audits each one (`backup.created`,
// actor system) and counts it in the metrics. `backupFreshness` tells `gatehouse doctor`
// when no backup has succeeded for a whole slot; /readyz does not, on purpose: a late
// backup is an operator's alarm, not a reason to take every instance out of service.
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Cron } from 'croner';
import type { BackupsConfig } from '../../config/config.ts';
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { Database, DB } from '../../core/db/database.ts';
import type { ScheduledJob } from '../../core/jobs/scheduler.ts';
import type { Logger } from '../../core/logging.ts';
import type { Metrics } from '../../core/metrics/metrics.ts';
import { createBackup } from './create.ts';
import { BACKUP_FILE } from './erasures.ts';
import type { BackupManifest } from './format.ts';

export const BACKUP_JOB = 'backup';
const DAY_MS = 86_400_000;
/** What createBackup writes before the rename: `<name>.age.<uuid>.partial`. */
const PARTIAL_FILE = /^gatehouse-backup-[0-9TZ-]+\.age\.[0-9a-f-]{36}\.partial$/;
const SYSTEM: RequestContext = { ip: null, userAgent: null, requestId: null };

/** `gatehouse-backup-2026-12-06T03-00-00-000Z.age`: sorts by time, matches BACKUP_FILE. */
export function backupFileName(now: Date): string {
  return `gatehouse-backup-${now.toISOString().replaceAll(':', '-').replace('.', '-')}.age`;
}

/**
 * Removes all but the newest `keep` scheduled backups (and their manifests), and the
 * temporary files of backups a crash cut short, once a day old; answers how many backups went.
 */
export async function pruneBackups(dir: string, keep: number, now: Date): Promise<number> {
  const names = await readdir(dir);
  const backups = names.filter((name) => BACKUP_FILE.test(name)).sort();
  const old = backups.slice(0, Math.max(0, backups.length - keep));
  for (const name of old) {
    await rm(join(dir, name), { force: true });
    await rm(join(dir, `${name}.json`), { force: true });
  }
  for (const name of names.filter((candidate) => PARTIAL_FILE.test(candidate))) {
    const path = join(dir, name);
    const modified = await stat(path).then((info) => info.mtimeMs, () => null);
    if (modified !== null && now.getTime() - modified > DAY_MS) await rm(path, { force: true });
  }
  return old.length;
}

export interface BackupJobDeps {
  readonly database: Database;
  readonly config: BackupsConfig & { readonly dir: string };
  readonly filesDir: string | null;
  readonly change: Changes;
  readonly keyring: Keyring;
  readonly metrics: Metrics;
  readonly log: Logger;
}

function audited(deps: BackupJobDeps, outcome: 'success' | 'failure', details: Record<string, string | number | null>): Promise<void> {
  return deps.change(SYSTEM, ({ audit }) => {
    audit({ actor: { type: 'system', id: BACKUP_JOB }, action: 'backup.created', outcome, details });
    return Promise.resolve();
  });
}

export function backupJob(deps: BackupJobDeps): ScheduledJob {
  const { dir, schedule, keep, recipients } = deps.config;
  return {
    name: BACKUP_JOB,
    everySeconds: 60,
    cron: schedule,
    description: `an encrypted backup to BACKUP_DIR (${dir}) at "${schedule}" UTC, keeping the newest ${keep}; answers the old backups removed`,
    run: async (_db: DB, now: Date) => {
      const out = join(dir, backupFileName(now));
      let manifest: BackupManifest;
      try {
        manifest = await createBackup(deps.database, { recipients, out, filesDir: deps.filesDir, now, keyring: deps.keyring });
      } catch (error) {
        deps.metrics.backups.inc({ outcome: 'failed' });
        await audited(deps, 'failure', { file: basename(out) }).catch(() => undefined);
        throw error;
      }
      deps.metrics.backups.inc({ outcome: 'succeeded' });
      deps.metrics.backupLastSuccess.set(Date.now() / 1000);
      deps.metrics.backupBytes.set(manifest.file_bytes);
      await audited(deps, 'success', { file: basename(out), bytes: manifest.file_bytes, schema_version: manifest.schema_version, audit_head_seq: manifest.audit_head?.seq ?? null });
      const removed = await pruneBackups(dir, keep, now);
      deps.log.info({ file: basename(out), bytes: manifest.file_bytes, removed }, 'backup written');
      return removed;
    },
  };
}

export type BackupFreshness =
  | { readonly state: 'disabled' }
  | { readonly state: 'never' | 'fresh' | 'stale'; readonly lastSuccess: Date | null; readonly dueSince: Date | null };

/**
 * Whether the scheduled backups keep up: `stale` once a whole slot went by without a
 * successful backup (the last success is older than the slot before the newest one), so
 * a backup still running for the newest slot is not an alarm.
 */
export async function backupFreshness(db: DB, config: BackupsConfig, now: Date): Promise<BackupFreshness> {
  if (config.dir === null) return { state: 'disabled' };
  const row = await db.selectFrom('scheduled_runs').select('last_finished_at').where('name', '=', BACKUP_JOB).executeTakeFirst();
  const lastSuccess = row?.last_finished_at === null || row?.last_finished_at === undefined ? null : new Date(row.last_finished_at);
  const [, slotBefore] = new Cron(config.schedule, { paused: true, timezone: 'UTC' }).previousRuns(2, now);
  const dueSince = slotBefore ?? null;
  if (lastSuccess === null) return { state: 'never', lastSuccess, dueSince };
  return { state: dueSince !== null && lastSuccess < dueSince ? 'stale' : 'fresh', lastSuccess, dueSince };
}
