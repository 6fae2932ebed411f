// Security webhooks as the server wires them: an audit observer that writes outbox rows
// and a dispatcher that delivers them, or nothing at all when no receiver is configured.
import type { AuditObserver } from '../../core/audit/auditor.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import type { Logger } from '../../core/logging.ts';
import type { WebhookConfig } from '../../config/operations-extra.ts';
import { createWebhookDispatcher, DEFAULT_WEBHOOK_TUNING, type WebhookDispatcher, type WebhookFailure, type WebhookTuning } from './dispatcher.ts';
import { createWebhookObserver } from './observer.ts';

export interface SecurityWebhooks {
  readonly observer: AuditObserver;
  readonly dispatcher: WebhookDispatcher;
}

export interface SecurityWebhooksDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: WebhookConfig;
  /** Tests shorten the intervals; production uses the defaults. */
  readonly tuning?: Partial<WebhookTuning>;
  readonly onFailure?: (failure: WebhookFailure) => void;
}

export function createSecurityWebhooks(deps: SecurityWebhooksDeps): SecurityWebhooks | null {
  const { secret } = deps.config;
  // A URL listed twice is one receiver: a second row for it would break the outbox's
  // (event, url) uniqueness and roll back the change being audited.
  const urls = [...new Set(deps.config.urls)];
  // Configuration refuses URLs without a secret; an unsigned event is never sent.
  if (urls.length === 0 || secret === null) return null;
  const dispatcher = createWebhookDispatcher({
    db: deps.db,
    clock: deps.clock,
    log: deps.log,
    urls,
    secret,
    tuning: { ...DEFAULT_WEBHOOK_TUNING, ...deps.tuning },
    ...(deps.onFailure === undefined ? {} : { onFailure: deps.onFailure }),
  });
  const observer = createWebhookObserver({ urls, clock: deps.clock, onEnqueued: () => { dispatcher.wake(); } });
  return { observer, dispatcher };
}
