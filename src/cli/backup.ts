// `gatehouse backup keygen|create|verify|restore|ledger`: encrypted backups (docs/operations.md
// "Backups"). Identities (the secret half) are read from a file named on the command
// line, never from argv itself, and never needed by the server or by `create`.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Config } from '../config/config.ts';
import { createKeyring } from '../core/crypto/keyring.ts';
import type { Logger } from '../core/logging.ts';
import {
  BackupError,
  backupFileName,
  createBackup,
  generateBackupIdentity,
  ledgerLines,
  readIdentityFile,
  restoreBackupFile,
  restoredChecksPass,
  verifyBackupFile,
  type BackupReport,
} from '../features/backup/index.ts';
import { openCommandDatabase, openRuntime, resolveMasterKeys, type Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';

type Write = (text: string) => void;

export async function keygenCommand(out: string, write: Write): Promise<number> {
  const { identity, recipient } = await generateBackupIdentity();
  // 'wx': never overwrite an identity, which would make every backup made for it unreadable.
  await writeFile(out, `# gatehouse backup identity, created ${new Date().toISOString()}\n# recipient: ${recipient}\n${identity}\n`, { mode: 0o600, flag: 'wx' });
  write(`identity written to ${out} (keep it offline; whoever holds it reads every backup)\nrecipient (set BACKUP_RECIPIENTS to it): ${recipient}\n`);
  return 0;
}

export async function createCommand(config: Config, log: Logger, options: { out: string | undefined; recipients: readonly string[] }, write: Write): Promise<number> {
  const now = new Date();
  const out = options.out ?? (config.backups.dir === null ? null : join(config.backups.dir, backupFileName(now)));
  if (out === null) throw new BackupError('give --out FILE, or set BACKUP_DIR');
  const recipients = options.recipients.length > 0 ? options.recipients : config.backups.recipients;
  const database = await openCommandDatabase(config);
  try {
    const manifest = await createBackup(database, { recipients, out, filesDir: config.uploads.filesDir, now, keyring: await keyringOf(config, log) });
    const rows = Object.values(manifest.tables).reduce((sum, count) => sum + count, 0);
    write(`backup written to ${out} (${manifest.file_bytes} bytes, ${rows} rows in ${Object.keys(manifest.tables).length} tables, ${manifest.files} files, schema ${manifest.schema_version}, audit head ${manifest.audit_head === null ? 'none' : `seq ${manifest.audit_head.seq}`}); manifest ${out}.json\n`);
    return 0;
  } finally {
    await database.close();
  }
}

function describeReport(report: BackupReport, write: Write): boolean {
  const { header, trailer, checks } = report;
  const rows = Object.values(trailer.tables).reduce((sum, count) => sum + count, 0);
  write(`backup taken ${header.created_at} on ${header.engine}, Gatehouse ${header.gatehouse_version}, schema ${header.schema_version}\n`);
  write(`  integrity: age authentication, plaintext SHA-256 and row counts of ${Object.keys(trailer.tables).length} tables (${rows} rows, ${trailer.files} files): ok\n`);
  write(`  schema: migrated ${report.migrated.length === 0 ? 'nothing (already current)' : `through ${report.migrated.join(', ')}`}\n`);
  write(`  keys: ${checks.keys.checked} stored keys checked; ${checks.keys.missingMasterKeys.length === 0 ? 'all unwrap under the configured master keys' : `master keys missing from GATEHOUSE_MASTER_KEY: ${checks.keys.missingMasterKeys.join(', ')}`}\n`);
  write(`  audit chain: ${checks.audit.ok ? `${checks.audit.checked} records verified` : `BROKEN${checks.audit.firstBrokenSeq === null ? '' : ` at seq ${checks.audit.firstBrokenSeq}`} (${checks.audit.reason ?? 'unknown'})`}; head ${checks.audit.headMatches ? 'matches the backup\'s record' : 'DIFFERS from the backup\'s record'}\n`);
  if (report.erasureSources.length > 0 || report.erasuresApplied > 0) write(`  erasures re-applied: ${report.erasuresApplied} (ledgers read: ${report.erasureSources.join(', ') || 'none'})\n`);
  const pass = restoredChecksPass(checks);
  write(pass ? 'backup OK\n' : 'backup FAILED its checks\n');
  return pass;
}

async function keyringOf(config: Config, log: Logger): Promise<ReturnType<typeof createKeyring>> {
  return createKeyring(await resolveMasterKeys(config, log));
}

export async function verifyCommand(config: Config, log: Logger, file: string, identityFile: string, write: Write): Promise<number> {
  const decrypter = await readIdentityFile(identityFile);
  const report = await verifyBackupFile(file, decrypter, await keyringOf(config, log));
  return describeReport(report, write) ? 0 : 1;
}

export async function restoreCommand(config: Config, log: Logger, options: { file: string; identityFile: string; ledgers: readonly string[] }, write: Write): Promise<number> {
  const decrypter = await readIdentityFile(options.identityFile);
  const keyring = await keyringOf(config, log);
  const database = await openCommandDatabase(config);
  let report: BackupReport;
  try {
    report = await restoreBackupFile(database, options.file, decrypter, keyring, { filesDir: config.uploads.filesDir, ledgerFiles: options.ledgers });
  } finally {
    await database.close();
  }
  const pass = describeReport(report, write);
  const runtime = await openRuntime(config, log, { migrate: false });
  try {
    await (await createServices(runtime)).auth.change({ ip: null, userAgent: null, requestId: null }, ({ audit }) => {
      audit({
        actor: { type: 'system', id: 'backup-restore' },
        action: 'backup.restored',
        outcome: pass ? 'success' : 'failure',
        details: { backup_created_at: report.header.created_at, schema_version: report.header.schema_version, erasures_reapplied: report.erasuresApplied },
      });
      return Promise.resolve();
    });
  } finally {
    await runtime.close();
  }
  return pass ? 0 : 1;
}

export async function ledgerCommand(runtime: Runtime, out: string | undefined, write: Write): Promise<number> {
  if (out === undefined) {
    for await (const line of ledgerLines(runtime.database.db)) write(line);
    return 0;
  }
  const stream = createWriteStream(out, { flags: 'wx', mode: 0o600 });
  for await (const line of ledgerLines(runtime.database.db)) if (!stream.write(line)) await once(stream, 'drain');
  stream.end();
  await finished(stream);
  return 0;
}
