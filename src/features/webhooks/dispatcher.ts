// Delivers the outbox in the background: a round claims a batch of due rows, posts them
// in parallel and records each outcome; rounds run every `pollIntervalMs`, and shortly
// after an event is enqueued (`wake`). Nothing here runs on a request's path: the
// request only wrote a row, so a slow or dead receiver never slows a login.
//
// Stopping lets in-flight posts finish for `stopGraceMs`, then aborts them and gives
// their rows back uncounted; a crash instead leaves them claimed until their lease ends.
// Either way the next instance to poll sends them, so delivery is at least once, and
// receivers deduplicate on the event id.
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.ts';
import type { Schema } from '../../core/db/schema.ts';
import { outsideTransaction } from '../../core/db/transaction-scope.ts';
import type { Logger } from '../../core/logging.ts';
import { deliverWebhook } from './deliver.ts';
import {
  claimDueWebhooks,
  markWebhookDelivered,
  markWebhookFailed,
  pruneWebhooks,
  releaseWebhook,
  scheduleWebhookRetry,
  type ClaimedWebhook,
} from './outbox.ts';
import { DEFAULT_RETRY_POLICY, randomFraction, retryDelayMs, type RetryPolicy } from './retry.ts';
import { signWebhook } from './signature.ts';

export interface WebhookTuning {
  readonly pollIntervalMs: number;
  /** How long after an enqueue to look: the row is visible only once its transaction commits. */
  readonly wakeDelayMs: number;
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly stopGraceMs: number;
  readonly retry: RetryPolicy;
  /** Delivered and failed rows are deleted this long after they were created. */
  readonly retentionMs: number;
}

export const DEFAULT_WEBHOOK_TUNING: WebhookTuning = {
  pollIntervalMs: 5_000,
  wakeDelayMs: 50,
  batchSize: 10,
  timeoutMs: 10_000,
  // Well inside the default SHUTDOWN_TIMEOUT_SECONDS (10).
  stopGraceMs: 3_000,
  retry: DEFAULT_RETRY_POLICY,
  retentionMs: 30 * 86_400_000,
};

// A claim must outlive its delivery (the timeout) and the write of its outcome.
const LEASE_MARGIN_MS = 30_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 1_000;

/** What a metrics counter (`webhook_failures_total`) needs; no URL, no payload. */
export interface WebhookFailure {
  readonly eventType: string;
  readonly error: string;
  readonly attempt: number;
  /** True when no attempt is left and the row is now `failed`. */
  readonly final: boolean;
}

export interface WebhookDispatcherDeps {
  readonly db: Kysely<Schema>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly urls: readonly string[];
  readonly secret: string;
  readonly tuning: WebhookTuning;
  readonly onFailure?: (failure: WebhookFailure) => void;
  /** The jitter source; the CSPRNG by default. */
  readonly random?: () => number;
}

export interface WebhookDispatcher {
  start(): void;
  /** Look for due rows soon; called after each enqueue. */
  wake(): void;
  /** Runs rounds until nothing due is left, now, whether or not the loop is started (tests). */
  deliverDue(): Promise<number>;
  /** Ends the loop; in-flight posts get the grace period, then are abandoned for a later retry. */
  stop(): Promise<void>;
}

// Receivers often carry a token in the path or query, so logs name the origin only.
function receiverOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : 'invalid';
}

export function createWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const { db, clock, log, tuning } = deps;
  let active = false;
  let stopController = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let waking = false;
  let stopping = false;
  let ongoing: Promise<number> | null = null;
  // Set by a wake during a round: the row it announces may not have been committed yet
  // when that round claimed, so the next round comes after the wake delay, not the poll interval.
  let wokenDuringRound = false;
  let lastPrune = Number.NEGATIVE_INFINITY;

  async function settle(claim: ClaimedWebhook, outcome: Awaited<ReturnType<typeof deliverWebhook>>): Promise<void> {
    const now = clock();
    const fields = { event_id: claim.eventId, event_type: claim.eventType, receiver: receiverOf(claim.url), attempt: claim.attempts };
    if (outcome.kind === 'delivered') {
      await markWebhookDelivered(db, claim, now);
      log.info({ ...fields, status: outcome.status }, 'webhook delivered');
      return;
    }
    if (outcome.kind === 'abandoned') {
      await releaseWebhook(db, claim, now);
      log.info(fields, 'webhook delivery abandoned at shutdown; it will be retried');
      return;
    }
    const delay = retryDelayMs(tuning.retry, claim.attempts, deps.random ?? randomFraction);
    if (delay === null) {
      await markWebhookFailed(db, claim, { now, error: outcome.error });
      log.error({ ...fields, error: outcome.error }, 'webhook delivery failed for good');
    } else {
      await scheduleWebhookRetry(db, claim, { at: new Date(now.getTime() + delay), error: outcome.error });
      log.warn({ ...fields, error: outcome.error, retry_in_ms: delay }, 'webhook delivery failed; will retry');
    }
    deps.onFailure?.({ eventType: claim.eventType, error: outcome.error, attempt: claim.attempts, final: delay === null });
  }

  async function deliverOne(claim: ClaimedWebhook): Promise<void> {
    try {
      const request = { url: claim.url, eventId: claim.eventId, eventType: claim.eventType, body: claim.payload };
      const signature = signWebhook(deps.secret, claim.payload, clock());
      const outcome = await deliverWebhook({ ...request, signature }, { timeoutMs: tuning.timeoutMs, stopSignal: stopController.signal });
      await settle(claim, outcome);
    } catch (error) {
      // The outcome could not be written: the lease runs out and the row is tried again.
      log.error({ err: error, event_id: claim.eventId }, 'webhook outcome not recorded');
    }
  }

  async function deliverBatch(): Promise<number> {
    const now = clock();
    const claims = await claimDueWebhooks(db, {
      now,
      leaseUntil: new Date(now.getTime() + tuning.timeoutMs + tuning.stopGraceMs + LEASE_MARGIN_MS),
      urls: deps.urls,
      limit: tuning.batchSize,
    });
    await Promise.all(claims.map(deliverOne));
    return claims.length;
  }

  async function prune(): Promise<void> {
    const now = clock().getTime();
    if (now - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now;
    const deleted = await pruneWebhooks(db, { before: new Date(now - tuning.retentionMs), limit: PRUNE_BATCH });
    if (deleted > 0) log.info({ deleted }, 'old webhook rows pruned');
  }

  async function deliverAllDue(): Promise<number> {
    let total = 0;
    try {
      let claimed: number;
      do {
        claimed = await deliverBatch();
        total += claimed;
      } while (claimed === tuning.batchSize && !stopping);
      await prune();
    } catch (error) {
      log.error({ err: error }, 'webhook dispatch round failed');
    }
    return total;
  }

  function schedule(delayMs: number): void {
    if (timer !== null) clearTimeout(timer);
    // wake() is called from inside the audited change's transaction: a timer armed there
    // would inherit it and, firing before the commit, claim the uncommitted row and send
    // an event for a change that may still roll back.
    timer = outsideTransaction(() =>
      setTimeout(() => {
        timer = null;
        waking = false;
        void runRound();
      }, delayMs),
    );
    // The loop alone never keeps a process alive (a CLI command, a finished test).
    timer.unref();
  }

  async function runRound(): Promise<number> {
    if (ongoing !== null) return ongoing;
    wokenDuringRound = false;
    ongoing = deliverAllDue().finally(() => {
      ongoing = null;
      if (active) schedule(wokenDuringRound ? tuning.wakeDelayMs : tuning.pollIntervalMs);
    });
    return ongoing;
  }

  return {
    start() {
      if (active) return;
      active = true;
      stopping = false;
      stopController = new AbortController();
      schedule(0);
    },
    wake() {
      // A burst of events sets one timer, not one each; a pending wake is not postponed.
      if (!active || waking) return;
      if (ongoing !== null) {
        wokenDuringRound = true;
        return;
      }
      waking = true;
      schedule(tuning.wakeDelayMs);
    },
    async deliverDue() {
      // A round already running may have claimed before the caller's rows were committed.
      const running = ongoing === null ? 0 : await ongoing;
      return running + (await runRound());
    },
    async stop() {
      active = false;
      stopping = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      waking = false;
      const grace = setTimeout(() => {
        stopController.abort();
      }, tuning.stopGraceMs);
      try {
        if (ongoing !== null) await ongoing;
      } finally {
        clearTimeout(grace);
      }
    },
  };
}
