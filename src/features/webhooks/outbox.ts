// The outbox table's repository. Rows are written inside the transaction of the change
// (so a rolled-back change sends nothing) and delivered later by the dispatcher; a row
// is claimed before delivery by moving its `next_attempt_at` past the delivery timeout
// (a lease), in one statement that skips rows another instance is claiming, so several
// instances never send the same row at once. Every later update is fenced on the
// claim's attempt count: an instance whose lease ran out cannot overwrite the outcome
// of the instance that claimed the row after it.
import { uuidv7 } from '../../core/crypto/ids.ts';
import type { Kysely, Transaction } from 'kysely';
import type { Schema } from '../../core/db/schema.ts';

type DB = Kysely<Schema>;

export interface NewWebhook {
  readonly eventId: string;
  readonly eventType: string;
  readonly payload: string;
}

/** One row per receiver, all due at once; a single statement, since the caller may hold the audit chain lock. */
export async function enqueueWebhook(trx: Transaction<Schema>, webhook: NewWebhook, options: { readonly urls: readonly string[]; readonly now: Date }): Promise<void> {
  if (options.urls.length === 0) return;
  await trx
    .insertInto('webhook_outbox')
    .values(options.urls.map((url) => ({
      id: uuidv7(options.now.getTime()),
      event_id: webhook.eventId,
      url,
      event_type: webhook.eventType,
      payload: webhook.payload,
      created_at: options.now,
      next_attempt_at: options.now,
      attempts: 0,
    })))
    .execute();
}

/** A row this instance holds the lease on; `attempts` already counts the attempt being made. */
export interface ClaimedWebhook {
  readonly id: string;
  readonly eventId: string;
  readonly url: string;
  readonly eventType: string;
  readonly payload: string;
  readonly attempts: number;
}

export interface ClaimOptions {
  readonly now: Date;
  /** When the lease ends: a claim not settled by then is due again (the holder crashed). */
  readonly leaseUntil: Date;
  /** Only rows for receivers configured now: a URL removed from the settings gets nothing more. */
  readonly urls: readonly string[];
  readonly limit: number;
}

export async function claimDueWebhooks(db: DB, options: ClaimOptions): Promise<ClaimedWebhook[]> {
  if (options.urls.length === 0 || options.limit <= 0) return [];
  const rows = await db
    .updateTable('webhook_outbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: options.leaseUntil }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('webhook_outbox')
        .select('id')
        .where('delivered_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('next_attempt_at', '<=', options.now)
        .where('url', 'in', [...options.urls])
        .orderBy('next_attempt_at')
        .limit(options.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(['id', 'event_id', 'url', 'event_type', 'payload', 'attempts'])
    .execute();
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    url: row.url,
    eventType: row.event_type,
    payload: row.payload,
    attempts: row.attempts,
  }));
}

function pending(db: DB, claim: ClaimedWebhook) {
  return db
    .updateTable('webhook_outbox')
    .where('id', '=', claim.id)
    .where('attempts', '=', claim.attempts)
    .where('delivered_at', 'is', null)
    .where('failed_at', 'is', null);
}

async function changed(query: { executeTakeFirst(): Promise<{ numUpdatedRows: bigint }> }): Promise<boolean> {
  return (await query.executeTakeFirst()).numUpdatedRows > 0n;
}

/** False when the lease was lost meanwhile (another instance owns the row now). */
export async function markWebhookDelivered(db: DB, claim: ClaimedWebhook, now: Date): Promise<boolean> {
  return changed(pending(db, claim).set({ delivered_at: now, last_error: null }));
}

export async function scheduleWebhookRetry(db: DB, claim: ClaimedWebhook, retry: { readonly at: Date; readonly error: string }): Promise<boolean> {
  return changed(pending(db, claim).set({ next_attempt_at: retry.at, last_error: retry.error }));
}

export async function markWebhookFailed(db: DB, claim: ClaimedWebhook, failure: { readonly now: Date; readonly error: string }): Promise<boolean> {
  return changed(pending(db, claim).set({ failed_at: failure.now, last_error: failure.error }));
}

/**
 * Gives a claim back undelivered and uncounted (this instance is stopping, not the
 * receiver failing): due at once, for whichever instance polls next.
 */
export async function releaseWebhook(db: DB, claim: ClaimedWebhook, now: Date): Promise<boolean> {
  return changed(pending(db, claim).set((eb) => ({ attempts: eb('attempts', '-', 1), next_attempt_at: now })));
}

/** Deletes up to `limit` rows delivered or given up on that were created before `before`. */
export async function pruneWebhooks(db: DB, options: { readonly before: Date; readonly limit: number }): Promise<number> {
  const result = await db
    .deleteFrom('webhook_outbox')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('webhook_outbox')
        .select('id')
        .where('created_at', '<', options.before)
        .where((inner) => inner.or([inner('delivered_at', 'is not', null), inner('failed_at', 'is not', null)]))
        .limit(options.limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
