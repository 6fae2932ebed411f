// The server's Prometheus instruments. Each app gets its own registry (never
// prom-client's global one), so two apps in one process, as in the tests, count apart.
// Every label is bounded: route patterns, methods, status codes and fixed words. Never
// ids, emails, tokens, addresses or raw paths: they would put personal data in the
// monitoring system and give an attacker a way to create series without limit.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditObserver } from '../audit/auditor.ts';
import { countAuditEvents, LOGIN_OUTCOMES, SECOND_FACTOR_OUTCOMES } from './audit-counts.ts';

export const METRIC_PREFIX = 'gatehouse_';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Requests answered 429, by route pattern: the global limiter, the auth limiters and locked accounts. */
  readonly rateLimited: Counter<'route'>;
  readonly logins: Counter<'outcome' | 'reason'>;
  readonly lockouts: Counter;
  readonly refreshReuse: Counter;
  /** How long each audit append took, waiting for the chain lock included. */
  readonly auditAppendSeconds: Histogram;
  /** For the security webhook handler: one per failed delivery attempt. */
  readonly webhookFailures: Counter;
  /** Jobs written by kind (counted at the write: a job whose transaction rolls back is counted too). */
  readonly jobsEnqueued: Counter<'kind'>;
  readonly jobsCompleted: Counter<'kind'>;
  /** Failed attempts by kind; `final` is `true` when the job was given up on. */
  readonly jobsFailed: Counter<'kind' | 'final'>;
  /** Jobs not yet done or given up on, by kind, as of the runner's last round. */
  readonly jobsPending: Gauge<'kind'>;
  /** Rows removed by the scheduled retention purges, by job. */
  readonly retentionRemoved: Counter<'job'>;
  /** Uploads refused by reason (too_large, quota, type_not_allowed, type_mismatch, polyglot, invalid_image, image_too_large). */
  readonly uploadsRefused: Counter<'reason'>;
  /** Scheduled backups by outcome (succeeded, failed). */
  readonly backups: Counter<'outcome'>;
  /** When the last scheduled backup of this instance succeeded (Unix seconds), and its size. */
  readonly backupLastSuccess: Gauge;
  readonly backupBytes: Gauge;
  /** Cache invalidation messages between instances (core/cache-broadcast.ts), by event. */
  readonly cacheInvalidationMessages: Counter<'event'>;
  /** Times this instance cleared its caches because its subscription (re)started. */
  readonly cacheResyncs: Counter;
  /** Counts login outcomes, lockouts and refresh reuse from the audit events that record them. */
  readonly auditObserver: AuditObserver;
}

export const CACHE_INVALIDATION_EVENTS = ['published', 'publish_failed', 'received', 'rejected'] as const;

// Audit appends take milliseconds unless the chain lock is contended.
const AUDIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const counters = {
    logins: new Counter({
      name: `${METRIC_PREFIX}auth_logins_total`,
      // A wrong current password on a password change is audited as a failed login too.
      help: 'Password logins by outcome (succeeded, failed) and reason (unknown_account, wrong_password, other; none when succeeded).',
      labelNames: ['outcome', 'reason'] as const,
      registers,
    }),
    lockouts: new Counter({ name: `${METRIC_PREFIX}auth_lockouts_total`, help: 'Account locks started by repeated failed logins.', registers }),
    refreshReuse: new Counter({
      name: `${METRIC_PREFIX}auth_refresh_reuse_total`,
      help: 'Refresh tokens presented again after rotation; each one ended its session.',
      registers,
    }),
    secondFactors: new Counter({
      name: `${METRIC_PREFIX}auth_second_factor_total`,
      help: 'Second steps of logins (and re-authentications that failed) by method (totp, recovery_code, passkey, other) and outcome.',
      labelNames: ['method', 'outcome'] as const,
      registers,
    }),
    secondFactorLockouts: new Counter({ name: `${METRIC_PREFIX}auth_mfa_lockouts_total`, help: 'Second-factor locks started by repeated wrong codes (the guesser knew the password).', registers }),
    passkeyCounterRegressions: new Counter({
      name: `${METRIC_PREFIX}auth_passkey_counter_regressions_total`,
      help: 'Passkey assertions refused because the signature counter did not rise (a cloned authenticator or a replay).',
      registers,
    }),
  };
  // Known series start at zero, so a rate is defined before the first event.
  for (const labels of LOGIN_OUTCOMES) counters.logins.inc(labels, 0);
  for (const labels of SECOND_FACTOR_OUTCOMES) counters.secondFactors.inc(labels, 0);
  const cacheInvalidationMessages = new Counter({
    name: `${METRIC_PREFIX}cache_invalidation_messages_total`,
    help: 'Cache invalidation messages between instances over Redis, by event (published, publish_failed, received, rejected).',
    labelNames: ['event'] as const,
    registers,
  });
  for (const event of CACHE_INVALIDATION_EVENTS) cacheInvalidationMessages.inc({ event }, 0);
  return {
    registry,
    ...counters,
    httpDuration: new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time to answer HTTP requests, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: `${METRIC_PREFIX}http_rate_limited_total`,
      help: 'Requests refused with 429, by route pattern.',
      labelNames: ['route'] as const,
      registers,
    }),
    auditAppendSeconds: new Histogram({
      name: `${METRIC_PREFIX}audit_append_duration_seconds`,
      help: 'Time to append one audit record, waiting for the chain lock included.',
      buckets: AUDIT_BUCKETS,
      registers,
    }),
    retentionRemoved: new Counter({
      name: `${METRIC_PREFIX}retention_removed_total`,
      help: 'Rows removed by the scheduled retention purges, by job.',
      labelNames: ['job'] as const,
      registers,
    }),
    // `reason` is a fixed word from features/files (RefusalReason), never input.
    uploadsRefused: new Counter({
      name: `${METRIC_PREFIX}uploads_refused_total`,
      help: 'File uploads refused, by reason (too_large, quota, type_not_allowed, type_mismatch, polyglot, invalid_image, image_too_large).',
      labelNames: ['reason'] as const,
      registers,
    }),
    webhookFailures: new Counter({ name: `${METRIC_PREFIX}webhook_failures_total`, help: 'Failed security webhook deliveries.', registers }),
    backups: new Counter({ name: `${METRIC_PREFIX}backups_total`, help: 'Scheduled backups by outcome (succeeded, failed).', labelNames: ['outcome'] as const, registers }),
    // `aggregator`: how the primary of WORKERS > 1 combines its workers' values (cli/cluster.ts);
    // counters and histograms are summed, these are not sums.
    backupLastSuccess: new Gauge({ name: `${METRIC_PREFIX}backup_last_success_timestamp_seconds`, help: 'When the last scheduled backup written by this instance succeeded (Unix time); alert when it falls behind BACKUP_SCHEDULE.', aggregator: 'max', registers }),
    backupBytes: new Gauge({ name: `${METRIC_PREFIX}backup_last_size_bytes`, help: 'Size of the last scheduled backup written by this instance, encrypted (with workers: the largest of their last sizes).', aggregator: 'max', registers }),
    // `kind` is a handler name from the code (mail, webhook), never from input.
    jobsEnqueued: new Counter({ name: `${METRIC_PREFIX}jobs_enqueued_total`, help: 'Background jobs written, by kind.', labelNames: ['kind'] as const, registers }),
    jobsCompleted: new Counter({ name: `${METRIC_PREFIX}jobs_completed_total`, help: 'Background jobs done, by kind.', labelNames: ['kind'] as const, registers }),
    jobsFailed: new Counter({
      name: `${METRIC_PREFIX}jobs_failed_total`,
      help: 'Failed background job attempts, by kind; final="true" when the job was given up on.',
      labelNames: ['kind', 'final'] as const,
      registers,
    }),
    // Every worker counts the same table: summed, the depth would be counted once per worker.
    jobsPending: new Gauge({ name: `${METRIC_PREFIX}jobs_pending`, help: 'Background jobs waiting to be done (queue depth), by kind.', labelNames: ['kind'] as const, aggregator: 'max', registers }),
    cacheInvalidationMessages,
    cacheResyncs: new Counter({
      name: `${METRIC_PREFIX}cache_resyncs_total`,
      help: 'Times this instance cleared its caches because its invalidation subscription (re)started and may have missed messages.',
      registers,
    }),
    auditObserver: countAuditEvents(counters),
  };
}
