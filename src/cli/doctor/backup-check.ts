// Backups: configured, and keeping up with their schedule (features/backup/scheduled.ts).
// No backups is a warning, not a failure: some operators back up the database with their
// own tools; doctor says what Gatehouse's own backups would give them.
import type { BackupsConfig } from '../../config/config.ts';
import { backupFreshness, type BackupFreshness } from '../../features/backup/index.ts';
import { fail, pass, warn, type Check, type Finding } from './types.ts';

const SETUP = 'set BACKUP_DIR and BACKUP_RECIPIENTS (an age public key from `gatehouse backup keygen`, identity kept offline), or run `gatehouse backup create` from your own scheduler (docs/operations.md "Backups")';

export function judgeBackups(config: Pick<BackupsConfig, 'schedule' | 'keep'>, freshness: BackupFreshness): Finding {
  switch (freshness.state) {
    case 'disabled':
      return warn('no scheduled backups (BACKUP_DIR unset)', SETUP);
    case 'never':
      return warn(`scheduled at "${config.schedule}" UTC, none written yet`, 'start `gatehouse serve` (it runs the schedule) or run `gatehouse jobs run backup`; then `gatehouse backup verify` the file');
    case 'stale':
      return fail(`the last successful backup (${freshness.lastSuccess?.toISOString() ?? 'none'}) is older than the schedule "${config.schedule}" allows`, 'read the server log for "scheduled job failed" (job backup), fix it, then `gatehouse jobs run backup`');
    case 'fresh':
      return pass(`last successful ${freshness.lastSuccess?.toISOString() ?? ''}, schedule "${config.schedule}" UTC, keeping ${config.keep}`);
  }
}

export const backupsCheck: Check = {
  name: 'backups',
  dependsOn: ['database'],
  async run(context) {
    const { backups } = context.config();
    return judgeBackups(backups, await backupFreshness((await context.database()).db, backups, context.now()));
  },
};
