// Security webhooks as jobs (core/jobs): one `webhook` job per (audit event, receiver),
// written inside the transaction of the change (so a rolled-back change sends nothing)
// and delivered later by the job runner. The dedupe key keeps one job per event and
// receiver; it names the receiver by the SHA-256 of its URL, which may carry a token.
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Schema } from '../../core/db/schema.ts';
import { enqueueJobs, queueFull, type ClaimedJob } from '../../core/jobs/repo.ts';

export const WEBHOOK_JOB_KIND = 'webhook';

/**
 * Pending webhook jobs above which an audited change that would add one is refused (503):
 * events times receivers, during a receiver's outage of up to the ~14.5 h of retries.
 */
export const DEFAULT_MAX_PENDING_WEBHOOKS = 100_000;

export interface NewWebhook {
  readonly eventId: string;
  readonly eventType: string;
  readonly payload: string;
}

/** What a webhook job holds: everything one delivery attempt needs, except the secret. */
export interface WebhookJob {
  readonly eventId: string;
  readonly eventType: string;
  readonly url: string;
  /** The exact bytes that are signed and posted, the same at every attempt. */
  readonly body: string;
}

export function webhookDedupeKey(eventId: string, url: string): string {
  return `${eventId}:${createHash('sha256').update(url, 'utf8').digest('hex')}`;
}

/**
 * One job per receiver, all due at once. The caller holds the audit chain lock (the
 * observer runs inside the append), so with `pendingEstimate` (the runner's last count of
 * pending webhook jobs, refreshed every poll) the capacity is checked in memory and the
 * write is the single INSERT; counting up to 100,000 rows under the lock would stall
 * every audited change while a receiver is down. Without an estimate (none yet, or
 * tests) the queue counts as for any kind.
 */
export async function enqueueWebhook(
  trx: Transaction<Schema>,
  webhook: NewWebhook,
  options: { readonly urls: readonly string[]; readonly now: Date; readonly maxPending?: number; readonly pendingEstimate?: () => number | null },
): Promise<void> {
  if (options.urls.length === 0) return;
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_WEBHOOKS;
  const estimate = options.pendingEstimate?.() ?? null;
  if (estimate !== null && estimate >= maxPending) throw queueFull(WEBHOOK_JOB_KIND);
  const jobs = options.urls.map((url) => ({
    kind: WEBHOOK_JOB_KIND,
    payload: JSON.stringify({ event_id: webhook.eventId, event_type: webhook.eventType, url, body: webhook.payload }),
    dedupeKey: webhookDedupeKey(webhook.eventId, url),
  }));
  await enqueueJobs(trx, jobs, options.now, { maxPending: estimate === null ? maxPending : null });
}

/** The webhook a claimed job holds; null when its payload is not one (never written by enqueueWebhook). */
export function webhookOfJob(job: ClaimedJob): WebhookJob | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(job.payload);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { event_id: eventId, event_type: eventType, url, body } = parsed as Record<string, unknown>;
  if (typeof eventId !== 'string' || typeof eventType !== 'string' || typeof url !== 'string' || typeof body !== 'string') return null;
  return { eventId, eventType, url, body };
}
