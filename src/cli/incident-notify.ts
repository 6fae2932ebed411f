// `gatehouse incident notify`: mails the people an incident affected from a reviewed
// template (docs/incident-notification.md). The report (user ids and the state of each
// mail) goes to --report FILE (CSV or NDJSON, never overwritten) or to stdout as NDJSON;
// progress goes to stderr. Files are read with a bound before anything is parsed.
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';
import { countStatuses, dryRunNotification, findCampaign, formatReport, MAX_TEMPLATE_BYTES, MAX_USERS_FILE_BYTES, notifyUsers, parseTemplate, parseUserIds, recipientStatuses, reportFormatOf, reportRecords, type NotificationTemplate, type ReportRecord, type Selection } from '../features/incident/index.ts';
import { outboxTransport } from '../features/mail/index.ts';
import { UUID_PATTERN } from '../core/crypto/ids.ts';

export const DEFAULT_RATE_PER_SECOND = 10;
export const DEFAULT_BATCH_SIZE = 100;

export interface NotifyCommandFiles {
  readonly template: string;
  readonly selection: { readonly users: string } | { readonly all: true };
}

export interface NotifyCommandInput {
  readonly dryRun: boolean;
  readonly rate: number;
  readonly batchSize: number;
  readonly report: string | undefined;
  readonly outbox: string | undefined;
  readonly resume: string | undefined;
}

type Write = (text: string) => void;

/** Reads at most `max` bytes; a longer file is refused, not truncated. */
export async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(max + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > max) throw new Error(`the ${what} is larger than ${max} bytes`);
    }
    return buffer.subarray(0, size);
  } finally {
    await handle.close();
  }
}

/** Reads and checks the template and the selection before any database is opened. */
export async function readInputs(input: NotifyCommandFiles): Promise<{ readonly template: NotificationTemplate; readonly selection: Selection }> {
  const template = parseTemplate(await readBounded(input.template, MAX_TEMPLATE_BYTES, 'template'));
  const selection = 'all' in input.selection ? { kind: 'all' as const } : parseUserIds(await readBounded(input.selection.users, MAX_USERS_FILE_BYTES, 'users file'));
  return { template, selection };
}

async function writeReport(records: readonly ReportRecord[], path: string | undefined, out: Write): Promise<void> {
  if (path === undefined) {
    for (const line of formatReport(records, 'ndjson')) out(line);
    return;
  }
  // Never overwrites: a report names who was told, and an earlier one is evidence.
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  for (const line of formatReport(records, reportFormatOf(path))) if (!stream.write(line)) await once(stream, 'drain');
  stream.end();
  await finished(stream);
}

function summary(records: readonly ReportRecord[]): string {
  const counts = countStatuses(records);
  return Object.entries(counts).filter(([, count]) => count > 0).map(([status, count]) => `${status} ${count}`).join(', ') || 'nobody';
}

function dryRunOutbox(config: Config, outbox: string | undefined): string {
  return outbox ?? join(config.dataDir, 'outbox');
}

export async function notifyCommand(runtime: Runtime, input: NotifyCommandInput & { readonly template: NotificationTemplate; readonly selection: Selection }, io: { readonly out: Write; readonly err: Write }): Promise<number> {
  const { template, selection } = input;
  const db = runtime.database.db;
  if (selection.kind === 'users' && selection.duplicates > 0) io.err(`${selection.duplicates} duplicate ids in the users file ignored\n`);
  if (input.dryRun) {
    const directory = dryRunOutbox(runtime.config, input.outbox);
    const result = await dryRunNotification({ db, keyring: runtime.keyring, clock: runtime.clock }, {
      template,
      selection,
      batchSize: input.batchSize,
      transport: outboxTransport(directory),
      from: runtime.config.smtp.from,
    });
    const records = [...result.written.map((id) => ({ user_id: id, status: 'dry_run' as const })), ...reportRecords([], result.notMailable)];
    await writeReport(records, input.report, io.out);
    io.err(`dry run: ${result.written.length} mails written to ${directory}; nothing queued or recorded (${summary(records)})\n`);
    return 0;
  }
  const services = await createServices(runtime);
  const result = await notifyUsers(
    { db, change: services.auth.change, mail: services.mail, keyring: runtime.keyring, clock: runtime.clock, sleep: (ms) => sleep(ms), progress: (line) => { io.err(`${line}\n`); } },
    { template, selection, ratePerSecond: input.rate, batchSize: input.batchSize, ...(input.resume === undefined ? {} : { resume: input.resume }) },
  );
  const records = reportRecords(await recipientStatuses(db, result.campaign.id), result.notMailable);
  await writeReport(records, input.report, io.out);
  const state = result.alreadyFinished ? 'already finished earlier; nobody mailed again' : `finished; ${result.queued} mails queued by this run`;
  io.err(`campaign ${result.campaign.id} ${state} (${summary(records)})\n`);
  return 0;
}

export async function notifyStatusCommand(runtime: Runtime, campaignId: string, report: string | undefined, io: { readonly out: Write; readonly err: Write }): Promise<number> {
  const campaign = UUID_PATTERN.test(campaignId) ? await findCampaign(runtime.database.db, campaignId) : null;
  if (campaign === null) {
    io.err(`no campaign ${JSON.stringify(campaignId.slice(0, 64))}\n`);
    return 1;
  }
  const records = reportRecords(await recipientStatuses(runtime.database.db, campaign.id), []);
  if (report !== undefined) await writeReport(records, report, io.out);
  const state = campaign.finishedAt === null ? 'not finished (rerun the same command, or add --resume, to carry on)' : `finished queueing at ${campaign.finishedAt.toISOString()}`;
  io.out(`campaign ${campaign.id}\n  started ${campaign.startedAt.toISOString()}, ${state}\n  selection ${campaign.selection}${campaign.selected === null ? '' : ` (${campaign.selected} ids)`}, template sha256 ${campaign.templateSHA256}\n  recipients ${records.length}: ${summary(records)}\n`);
  return 0;
}
