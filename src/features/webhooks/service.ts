// Security webhooks as the server wires them: an audit observer that writes webhook jobs
// and the handler the job runner delivers them with, or nothing at all when no receiver
// is configured.
import type { AuditObserver } from '../../core/audit/auditor.ts';
import type { Clock } from '../../core/clock.ts';
import type { JobHandler } from '../../core/jobs/handler.ts';
import type { Logger } from '../../core/logging.ts';
import type { WebhookConfig } from '../../config/operations-extra.ts';
import { createWebhookHandler, DEFAULT_WEBHOOK_TUNING, type WebhookFailure, type WebhookTuning } from './handler.ts';
import { createWebhookObserver } from './observer.ts';

export interface SecurityWebhooks {
  readonly observer: AuditObserver;
  readonly handler: JobHandler;
}

export interface SecurityWebhooksDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: WebhookConfig;
  /** Tests shorten the timeout and retries; production uses the defaults. */
  readonly tuning?: Partial<WebhookTuning>;
  readonly onFailure?: (failure: WebhookFailure) => void;
  /** Pending webhook jobs above which an audited change that adds one is refused (503). */
  readonly maxPending?: number;
  /** The runner's last count of pending webhook jobs, so the capacity check costs nothing under the audit lock. */
  readonly pendingEstimate?: () => number | null;
  /** Called after jobs are written (inside the transaction), to count them and wake the runner. */
  readonly onEnqueued?: (count: number) => void;
}

export function createSecurityWebhooks(deps: SecurityWebhooksDeps): SecurityWebhooks | null {
  const { secret } = deps.config;
  // A URL listed twice is one receiver: a second job for it would break the (event,
  // receiver) uniqueness and roll back the change being audited.
  const urls = [...new Set(deps.config.urls)];
  // Configuration refuses URLs without a secret; an unsigned event is never sent.
  if (urls.length === 0 || secret === null) return null;
  const handler = createWebhookHandler({
    clock: deps.clock,
    log: deps.log,
    urls,
    secret,
    previousSecret: deps.config.previousSecret,
    tuning: { ...DEFAULT_WEBHOOK_TUNING, ...deps.tuning },
    ...(deps.onFailure === undefined ? {} : { onFailure: deps.onFailure }),
  });
  const observer = createWebhookObserver({
    urls,
    includeIp: deps.config.includeIp,
    clock: deps.clock,
    ...(deps.maxPending === undefined ? {} : { maxPending: deps.maxPending }),
    ...(deps.pendingEstimate === undefined ? {} : { pendingEstimate: deps.pendingEstimate }),
    onEnqueued: () => { deps.onEnqueued?.(urls.length); },
  });
  return { observer, handler };
}
