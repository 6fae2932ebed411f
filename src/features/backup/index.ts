// Encrypted backup and restore (docs/operations.md "Backups"): what the CLI and the server use.
export { generateBackupIdentity, readIdentityFile } from './age.ts';
export { restoredChecksPass, type RestoredChecks } from './checks.ts';
export { createBackup, type CreateBackupOptions } from './create.ts';
export { ledgerLines } from './erasures.ts';
export { BackupError, type BackupManifest } from './format.ts';
export { restoreBackupFile, verifyBackupFile, type BackupReport } from './operations.ts';
export { BACKUP_JOB, backupFileName, backupFreshness, backupJob, pruneBackups, type BackupFreshness } from './scheduled.ts';
