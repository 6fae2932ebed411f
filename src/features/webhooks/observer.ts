// Turns selected audit events into webhook jobs. It runs inside the audit append's
// transaction (see AuditObserver), so the webhook commits or rolls back with the change
// it reports, and never slows the request by more than one INSERT: delivery happens
// later, in the job runner. A full queue refuses the change (503) rather than drop it.
import type { AuditObserver } from '../../core/audit/auditor.ts';
import type { Clock } from '../../core/clock.ts';
import { isWebhookEvent, webhookPayload } from './events.ts';
import { enqueueWebhook } from './outbox.ts';

export interface WebhookObserverDeps {
  readonly urls: readonly string[];
  /** WEBHOOK_INCLUDE_IP: whether bodies carry the client's address. */
  readonly includeIp: boolean;
  readonly clock: Clock;
  /** Pending webhook jobs above which the change is refused; DEFAULT_MAX_PENDING_WEBHOOKS by default. */
  readonly maxPending?: number;
  /** The runner's last count of pending webhook jobs (null until it has one): checked instead of counting under the audit lock. */
  readonly pendingEstimate?: () => number | null;
  /** Called after the jobs are written, to wake the runner (it finds them once the transaction commits). */
  readonly onEnqueued?: () => void;
}

export function createWebhookObserver(deps: WebhookObserverDeps): AuditObserver {
  return async (trx, event, appended) => {
    if (deps.urls.length === 0 || !isWebhookEvent(event)) return;
    const now = deps.clock();
    const payload = JSON.stringify(webhookPayload(event, appended, now, { includeIp: deps.includeIp }));
    await enqueueWebhook(trx, { eventId: appended.id, eventType: event.action, payload }, {
      urls: deps.urls,
      now,
      ...(deps.maxPending === undefined ? {} : { maxPending: deps.maxPending }),
      ...(deps.pendingEstimate === undefined ? {} : { pendingEstimate: deps.pendingEstimate }),
    });
    deps.onEnqueued?.();
  };
}
