// Delivers one `webhook` job for the job runner (core/jobs/runner.ts): signs the body
// (HMAC-SHA256 over timestamp and body, freshly at each attempt) and posts it without
// following redirects. The runner claims, retries with backoff and fences; this file
// says what a delivery is and logs it in webhook terms. Delivery is at least once, and
// receivers deduplicate on the event id.
import type { Clock } from '../../core/clock.ts';
import type { JobHandler, JobOutcome } from '../../core/jobs/handler.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../core/jobs/retry.ts';
import type { Logger } from '../../core/logging.ts';
import { deliverWebhook } from './deliver.ts';
import { WEBHOOK_JOB_KIND, webhookOfJob } from './outbox.ts';
import { signWebhook } from './signature.ts';

export interface WebhookTuning {
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

export const DEFAULT_WEBHOOK_TUNING: WebhookTuning = {
  timeoutMs: 10_000,
  retry: DEFAULT_RETRY_POLICY,
};

/** What a metrics counter (`webhook_failures_total`) needs; no URL, no payload. */
export interface WebhookFailure {
  readonly eventType: string;
  readonly error: string;
  readonly attempt: number;
  /** True when no attempt is left and the job is now `failed`. */
  readonly final: boolean;
}

export interface WebhookHandlerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  /** The receivers configured now: a job for a URL removed since gets nothing more. */
  readonly urls: readonly string[];
  readonly secret: string;
  /** While the secret rotates, the old one: each delivery is signed with both. */
  readonly previousSecret?: string | null;
  readonly tuning: WebhookTuning;
  readonly onFailure?: (failure: WebhookFailure) => void;
}

// Receivers often carry a token in the path or query, so logs name the origin only.
function receiverOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : 'invalid';
}

export function createWebhookHandler(deps: WebhookHandlerDeps): JobHandler {
  const { clock, log, tuning } = deps;
  const configured = new Set(deps.urls);
  return {
    kind: WEBHOOK_JOB_KIND,
    retry: tuning.retry,
    timeoutMs: tuning.timeoutMs,
    async handle(job, signal): Promise<JobOutcome> {
      const webhook = webhookOfJob(job);
      if (webhook === null) return { status: 'failed', error: 'invalid_payload' };
      // Given up without a request: the operator removed this receiver.
      if (!configured.has(webhook.url)) return { status: 'failed', error: 'receiver_removed' };
      const signature = signWebhook(deps.secret, webhook.body, clock(), { previousSecret: deps.previousSecret ?? null });
      const outcome = await deliverWebhook({ ...webhook, signature }, { timeoutMs: tuning.timeoutMs, stopSignal: signal });
      if (outcome.kind === 'abandoned') return { status: 'abandoned' };
      if (outcome.kind === 'failed') return { status: 'retry', error: outcome.error };
      log.info({ event_id: webhook.eventId, event_type: webhook.eventType, receiver: receiverOf(webhook.url), attempt: job.attempts, status: outcome.status }, 'webhook delivered');
      return { status: 'done' };
    },
    onFailure(job, failure) {
      const webhook = webhookOfJob(job);
      const fields = {
        event_id: webhook?.eventId ?? null,
        event_type: webhook?.eventType ?? null,
        receiver: webhook === null ? null : receiverOf(webhook.url),
        attempt: failure.attempt,
        error: failure.error,
      };
      if (failure.final) log.error(fields, 'webhook delivery failed for good');
      else log.warn(fields, 'webhook delivery failed; will retry');
      deps.onFailure?.({ eventType: webhook?.eventType ?? 'unknown', error: failure.error, attempt: failure.attempt, final: failure.final });
    },
  };
}
