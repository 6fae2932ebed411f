// Mailing a breach notification to the people an incident affected (GDPR art. 34), through
// the durable mail queue. The campaign walks its selection in batches; each batch is one
// audited change that records its recipients and writes their mail jobs together, so a
// crash (kill -9 included) leaves every batch either wholly queued or not at all, and a
// rerun with the same template and selection finds the same campaign and queues only the
// people not yet recorded: nobody is mailed twice and everybody once. The recipient row's
// primary key (campaign, user) and the job's dedupe key hold that even against two runs
// at once.
//
// Pacing: the enqueue is paced to `ratePerSecond` (the command sleeps after each batch
// until its share of time has passed), and each job is due at its own slot 1/N s after
// the previous one, so the job runner hands the provider at most about N mails a second
// however large a batch is. The command also waits while the mail queue holds more than
// `backlogLimit` pending mails, so a campaign never fills the queue other mail (a
// password reset) needs.
import { CLI_CONTEXT } from '../../core/audit/cli-actor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { countPendingJobs } from '../../core/jobs/repo.ts';
import { DEFAULT_MAX_PENDING_MAIL, MAIL_JOB_KIND, type MailQueue, type MailTransport } from '../mail/index.ts';
import { findCampaign, findOrCreateCampaign, insertRecipients, markCampaignFinished, recipientDedupeKey, type Campaign } from './repo.ts';
import { contactOf, selectionSHA256, walkSelection, type Selection, type SelectionBatch, type SelectionCursor } from './selection.ts';
import { renderNotification, type NotificationTemplate } from './template.ts';

export const MAX_RATE_PER_SECOND = 1000;
export const MAX_BATCH_SIZE = 1000;
const ACTOR = { type: 'system', id: 'incident-notify' } as const;
// How long the command waits for room in the mail queue before it stops (a rerun carries on).
const BACKLOG_WAIT_MS = 10_000;
const BACKLOG_WAITS = 60;

export class NotifyError extends Error {
  override readonly name = 'NotifyError';
}

export interface NotifyDeps {
  readonly db: DB;
  readonly change: Changes;
  readonly mail: MailQueue;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** A line of progress for the operator (no personal data). */
  readonly progress: (line: string) => void;
}

export interface NotifyOptions {
  readonly template: NotificationTemplate;
  readonly selection: Selection;
  readonly ratePerSecond: number;
  readonly batchSize: number;
  /** The campaign the operator means to carry on: refused unless template and selection are its. */
  readonly resume?: string;
  /** Pending mail above which the command waits; half the queue's bound by default. */
  readonly backlogLimit?: number;
}

export interface NotifyResult {
  readonly campaign: Campaign;
  readonly created: boolean;
  /** The campaign had finished before this run, which did nothing. */
  readonly alreadyFinished: boolean;
  /** Mails queued by this run. */
  readonly queued: number;
  /** Listed ids that are not an active account with a readable address (unknown, erased, disabled). */
  readonly notMailable: readonly string[];
}

function checkLimits(options: { readonly ratePerSecond: number; readonly batchSize: number }): void {
  if (!Number.isInteger(options.ratePerSecond) || options.ratePerSecond < 1 || options.ratePerSecond > MAX_RATE_PER_SECOND) throw new NotifyError(`--rate must be a whole number from 1 to ${MAX_RATE_PER_SECOND}`);
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > MAX_BATCH_SIZE) throw new NotifyError(`--batch-size must be a whole number from 1 to ${MAX_BATCH_SIZE}`);
}

async function openCampaign(deps: NotifyDeps, options: NotifyOptions): Promise<{ readonly campaign: Campaign; readonly created: boolean }> {
  const key = {
    templateSHA256: options.template.sha256,
    selection: options.selection.kind,
    selectionSHA256: selectionSHA256(options.selection),
    selected: options.selection.kind === 'users' ? options.selection.ids.length : null,
  };
  if (options.resume !== undefined) {
    const named = await findCampaign(deps.db, options.resume);
    if (named === null || named.templateSHA256 !== key.templateSHA256 || named.selectionSHA256 !== key.selectionSHA256) {
      throw new NotifyError(`campaign ${options.resume} does not exist or was started with another template or selection`);
    }
  }
  return deps.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const found = await findOrCreateCampaign(trx, key, deps.clock());
    const { campaign } = found;
    const details = { campaign_id: campaign.id, template_sha256: campaign.templateSHA256, selection: campaign.selection, selected: campaign.selected };
    if (found.created) audit({ actor: ACTOR, action: 'incident.notification_started', outcome: 'success', details });
    else if (campaign.finishedAt === null) audit({ actor: ACTOR, action: 'incident.notification_resumed', outcome: 'success', details });
    return found;
  });
}

/** Gives each job the next delivery slot, 1/N s apart, never in the past. */
function slots(clock: Clock, ratePerSecond: number): { next(): Date; readonly last: () => number } {
  let slot = 0;
  return {
    next() {
      slot = Math.max(slot + 1000 / ratePerSecond, clock().getTime());
      return new Date(slot);
    },
    last: () => slot,
  };
}

async function waitForRoom(deps: NotifyDeps, limit: number): Promise<void> {
  for (let wait = 0; ; wait++) {
    const pending = (await countPendingJobs(deps.db, [MAIL_JOB_KIND])).get(MAIL_JOB_KIND) ?? 0;
    if (pending < limit) return;
    if (wait >= BACKLOG_WAITS) throw new NotifyError(`the mail queue still holds ${pending} pending mails; is the job runner (gatehouse serve) up? Rerun the same command to carry on`);
    deps.progress(`the mail queue holds ${pending} pending mails (limit ${limit}): waiting`);
    await deps.sleep(BACKLOG_WAIT_MS);
  }
}

/**
 * Reads the next batch and queues it in one change: its recipient rows, its mail jobs and
 * its audit record. Read inside the transaction, so an account erased or disabled
 * meanwhile is either not in the batch or erased after its mail was queued (and the mail
 * goes with the account). Null at the end of the selection.
 */
async function queueNextBatch(deps: NotifyDeps, campaign: Campaign, options: NotifyOptions, cursor: SelectionCursor, slot: () => Date): Promise<{ readonly batch: SelectionBatch; readonly queued: number } | null> {
  return deps.change(CLI_CONTEXT, async ({ trx, audit, enqueue }) => {
    const batch = await cursor.next(trx);
    if (batch === null) return null;
    const fresh = await insertRecipients(trx, campaign.id, batch.accounts.map((account) => account.id), deps.clock());
    let queued = 0;
    for (const account of batch.accounts) {
      if (!fresh.has(account.id)) continue;
      const contact = contactOf(deps.keyring, account);
      if (contact === null) continue;
      const message = { to: contact.email, ...renderNotification(options.template, contact) };
      const mailOptions = { userId: account.id, dedupeKey: recipientDedupeKey(campaign.id, account.id), notBefore: slot() };
      enqueue({ write: (jobTrx) => deps.mail.enqueue(jobTrx, message, mailOptions) });
      queued += 1;
    }
    if (queued > 0) audit({ actor: ACTOR, action: 'incident.notification_queued', outcome: 'success', details: { campaign_id: campaign.id, queued } });
    return { batch, queued };
  });
}

const isQueueFull = (error: unknown): boolean => error instanceof AppError && error.code === 'service_unavailable';

/** Runs (or carries on) the campaign of this template and selection to its end. */
export async function notifyUsers(deps: NotifyDeps, options: NotifyOptions): Promise<NotifyResult> {
  checkLimits(options);
  const { campaign, created } = await openCampaign(deps, options);
  if (campaign.finishedAt !== null) return { campaign, created, alreadyFinished: true, queued: 0, notMailable: [] };
  deps.progress(`campaign ${campaign.id} ${created ? 'started' : 'resumed'}`);
  const cursor = walkSelection(options.selection, { size: options.batchSize, createdBy: campaign.startedAt });
  const pacing = slots(deps.clock, options.ratePerSecond);
  const notMailable: string[] = [];
  let queued = 0;
  let refusals = 0;
  for (let number = 1; ; ) {
    await waitForRoom(deps, options.backlogLimit ?? DEFAULT_MAX_PENDING_MAIL / 2);
    let done: Awaited<ReturnType<typeof queueNextBatch>>;
    try {
      done = await queueNextBatch(deps, campaign, options, cursor, () => pacing.next());
    } catch (error) {
      // Rolled back whole: the same batch again once there is room.
      if (!isQueueFull(error) || ++refusals > BACKLOG_WAITS) throw error;
      deps.progress('the mail queue refused the batch (full): waiting');
      await deps.sleep(BACKLOG_WAIT_MS);
      continue;
    }
    if (done === null) break;
    const count = done.queued;
    cursor.advance();
    notMailable.push(...done.batch.notMailable);
    queued += count;
    deps.progress(`batch ${number}: queued ${count} (${queued} this run)`);
    number += 1;
    const ahead = pacing.last() - deps.clock().getTime();
    if (count > 0 && ahead > 0) await deps.sleep(ahead);
  }
  const finished = await deps.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const now = deps.clock();
    await markCampaignFinished(trx, campaign.id, now);
    const recipients = await trx.selectFrom('incident_recipients').select((eb) => eb.fn.countAll<string | number | bigint>().as('count')).where('campaign_id', '=', campaign.id).executeTakeFirstOrThrow();
    audit({ actor: ACTOR, action: 'incident.notification_finished', outcome: 'success', details: { campaign_id: campaign.id, recipients: Number(recipients.count), queued_this_run: queued, not_mailable: notMailable.length } });
    return { ...campaign, finishedAt: now };
  });
  return { campaign: finished, created, alreadyFinished: false, queued, notMailable };
}

export interface DryRunResult {
  /** The ids a mail was written for, in order. */
  readonly written: readonly string[];
  readonly notMailable: readonly string[];
}

/** Writes each selected person's mail through `transport` (the outbox) and records nothing. */
export async function dryRunNotification(deps: Pick<NotifyDeps, 'db' | 'keyring' | 'clock'>, options: { readonly template: NotificationTemplate; readonly selection: Selection; readonly batchSize: number; readonly transport: MailTransport; readonly from: string }): Promise<DryRunResult> {
  checkLimits({ ratePerSecond: 1, batchSize: options.batchSize });
  const cursor = walkSelection(options.selection, { size: options.batchSize, createdBy: deps.clock() });
  const written: string[] = [];
  const notMailable: string[] = [];
  for (let batch = await cursor.next(deps.db); batch !== null; batch = await cursor.next(deps.db)) {
    cursor.advance();
    notMailable.push(...batch.notMailable);
    for (const account of batch.accounts) {
      const contact = contactOf(deps.keyring, account);
      if (contact === null) continue;
      await options.transport({ from: options.from, to: contact.email, ...renderNotification(options.template, contact) });
      written.push(account.id);
    }
  }
  return { written, notMailable };
}
