// What a campaign reports: one record per person (user id and the state of their mail),
// as NDJSON or CSV, and the counts. Ids and states only: no address, no name.
import type { MailStatus, RecipientStatus } from './repo.ts';

export type ReportStatus = MailStatus | 'not_mailable' | 'dry_run';

export interface ReportRecord {
  readonly user_id: string;
  readonly status: ReportStatus;
}

export type ReportFormat = 'ndjson' | 'csv';

export function reportFormatOf(path: string): ReportFormat {
  return path.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson';
}

export function reportRecords(recipients: readonly RecipientStatus[], notMailable: readonly string[]): ReportRecord[] {
  return [
    ...recipients.map((recipient) => ({ user_id: recipient.userId, status: recipient.status })),
    ...notMailable.map((id) => ({ user_id: id, status: 'not_mailable' as const })),
  ];
}

/** The header line (CSV) and one line per record; ids are UUIDs and states fixed words, so nothing needs quoting. */
export function formatReport(records: readonly ReportRecord[], format: ReportFormat): string[] {
  if (format === 'csv') return ['user_id,status\n', ...records.map((record) => `${record.user_id},${record.status}\n`)];
  return records.map((record) => `${JSON.stringify(record)}\n`);
}

export function countStatuses(records: readonly ReportRecord[]): Record<ReportStatus, number> {
  const counts: Record<ReportStatus, number> = { queued: 0, sent: 0, failed: 0, gone: 0, not_mailable: 0, dry_run: 0 };
  for (const record of records) counts[record.status] += 1;
  return counts;
}
