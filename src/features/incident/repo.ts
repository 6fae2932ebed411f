// Campaigns and their recipients (migration 0026), and the accounts a campaign may mail.
// Functions take the database or the caller's transaction first.
import { sql } from 'kysely';
import { uuidv7 } from '../../core/crypto/ids.ts';
import type { DB } from '../../core/db/database.ts';
import { MAIL_JOB_KIND } from '../mail/index.ts';

export interface Campaign {
  readonly id: string;
  readonly templateSHA256: string;
  readonly selection: 'users' | 'all';
  readonly selectionSHA256: string;
  readonly selected: number | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
}

export interface CampaignKey {
  readonly templateSHA256: string;
  readonly selection: 'users' | 'all';
  readonly selectionSHA256: string;
  readonly selected: number | null;
}

/** A recipient's mail as the queue knows it; `gone` once its job was pruned or its account erased. */
export type MailStatus = 'queued' | 'sent' | 'failed' | 'gone';

/** The one mail job of a recipient: unique among mail jobs (jobs_dedupe). */
export function recipientDedupeKey(campaignId: string, userId: string): string {
  return `incident:${campaignId}:${userId}`;
}

function toCampaign(row: { id: string; template_sha256: string; selection: 'users' | 'all'; selection_sha256: string; selected: number | null; started_at: Date; finished_at: Date | null }): Campaign {
  return {
    id: row.id,
    templateSHA256: row.template_sha256,
    selection: row.selection,
    selectionSHA256: row.selection_sha256,
    selected: row.selected,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
  };
}

const CAMPAIGN_COLUMNS = ['id', 'template_sha256', 'selection', 'selection_sha256', 'selected', 'started_at', 'finished_at'] as const;

export async function findCampaign(db: DB, id: string): Promise<Campaign | null> {
  const row = await db.selectFrom('incident_campaigns').select(CAMPAIGN_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toCampaign(row);
}

/** The campaign of this template and selection, made if there is none; `created` says which. */
export async function findOrCreateCampaign(db: DB, key: CampaignKey, now: Date): Promise<{ readonly campaign: Campaign; readonly created: boolean }> {
  const inserted = await db
    .insertInto('incident_campaigns')
    .values({ id: uuidv7(now.getTime()), template_sha256: key.templateSHA256, selection: key.selection, selection_sha256: key.selectionSHA256, selected: key.selected, started_at: now, finished_at: null })
    .onConflict((conflict) => conflict.columns(['template_sha256', 'selection_sha256']).doNothing())
    .returning(CAMPAIGN_COLUMNS)
    .executeTakeFirst();
  if (inserted !== undefined) return { campaign: toCampaign(inserted), created: true };
  const row = await db
    .selectFrom('incident_campaigns')
    .select(CAMPAIGN_COLUMNS)
    .where('template_sha256', '=', key.templateSHA256)
    .where('selection_sha256', '=', key.selectionSHA256)
    .executeTakeFirstOrThrow();
  return { campaign: toCampaign(row), created: false };
}

export async function markCampaignFinished(db: DB, id: string, now: Date): Promise<void> {
  await db.updateTable('incident_campaigns').set({ finished_at: now }).where('id', '=', id).where('finished_at', 'is', null).execute();
}

/** An account a campaign may mail: active, its data key not shredded. */
export interface MailableAccount {
  readonly id: string;
  readonly email_ciphertext: string;
  readonly name_ciphertext: string | null;
  readonly wrapped_key: string;
}

function mailable(db: DB) {
  return db
    .selectFrom('users')
    .innerJoin('data_keys', 'data_keys.owner_id', 'users.id')
    .select(['users.id', 'users.email_ciphertext', 'users.name_ciphertext', 'data_keys.wrapped_key'])
    .where('users.status', '=', 'active')
    .orderBy('users.id');
}

/** Those of `ids` a campaign may mail. */
export async function mailableAmong(db: DB, ids: readonly string[]): Promise<MailableAccount[]> {
  if (ids.length === 0) return [];
  return mailable(db).where('users.id', 'in', [...ids]).execute();
}

/** For `--all`: the next `limit` mailable accounts after `after` (by id) that existed when the campaign started. */
export async function mailableAfter(db: DB, options: { readonly after: string | null; readonly createdBy: Date; readonly limit: number }): Promise<MailableAccount[]> {
  let query = mailable(db).where('users.created_at', '<=', options.createdBy);
  if (options.after !== null) query = query.where('users.id', '>', options.after);
  return query.limit(options.limit).execute();
}

/** Records recipients; answers those not recorded before (the only ones to mail). */
export async function insertRecipients(db: DB, campaignId: string, userIds: readonly string[], now: Date): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await db
    .insertInto('incident_recipients')
    .values(userIds.map((userId) => ({ campaign_id: campaignId, user_id: userId, queued_at: now })))
    .onConflict((conflict) => conflict.columns(['campaign_id', 'user_id']).doNothing())
    .returning('user_id')
    .execute();
  return new Set(rows.map((row) => row.user_id));
}

export interface RecipientStatus {
  readonly userId: string;
  readonly status: MailStatus;
}

/** Every recipient of the campaign with the state of their mail job, by user id. */
export async function recipientStatuses(db: DB, campaignId: string): Promise<RecipientStatus[]> {
  const rows = await db
    .selectFrom('incident_recipients as r')
    .leftJoin('jobs as j', (join) =>
      join
        .on('j.kind', '=', MAIL_JOB_KIND)
        .on('j.dedupe_key', '=', sql<string>`'incident:' || ${campaignId} || ':' || r.user_id::text`),
    )
    .select(['r.user_id', 'j.id as job_id', 'j.done_at', 'j.failed_at'])
    .where('r.campaign_id', '=', campaignId)
    .orderBy('r.user_id')
    .execute();
  return rows.map((row) => ({
    userId: row.user_id,
    status: row.job_id === null ? 'gone' : row.done_at !== null ? 'sent' : row.failed_at !== null ? 'failed' : 'queued',
  }));
}
