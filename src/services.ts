// Builds every long-lived service from configuration and opened resources. The server
// (runtime.ts) and the tests use this one function, so tests exercise the real wiring.
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { AccountServices } from './account-services.ts';
import type { Config } from './config/config.ts';
import { createChainHeadCache } from './core/audit/append.ts';
import { createAuditor } from './core/audit/auditor.ts';
import { createAuditKeyStore } from './core/audit/keys.ts';
import type { AuditKey, AuditKeyLookup } from './core/audit/types.ts';
import { channelFor, createCacheBroadcast, type CacheBroadcast } from './core/cache-broadcast.ts';
import { createCacheInvalidation } from './core/cache.ts';
import { createChanges } from './core/change.ts';
import type { Clock } from './core/clock.ts';
import { createScheduler, type Scheduler } from './core/jobs/scheduler.ts';
import { createJobRunner, DEFAULT_JOB_RUNNER_TUNING, type JobEvents, type JobRunner, type JobRunnerTuning } from './core/jobs/runner.ts';
import { JOB_PAYLOAD_KEY_PURPOSE } from './core/jobs/sealed-payload.ts';
import { createLiveBlindIndex, type LiveBlindIndex } from './core/crypto/blind-index-keys.ts';
import type { Keyring } from './core/crypto/keyring.ts';
import { getOrCreateSystemKey } from './core/crypto/system-keys.ts';
import type { Database } from './core/db/database.ts';
import { createCounterStores, type CounterStores } from './core/limits/stores.ts';
import type { Logger } from './core/logging.ts';
import { createMetrics, type Metrics } from './core/metrics/metrics.ts';
import { createPasswordHasher } from './core/password/hash.ts';
import { defaultHashSlots } from './core/password/hash-slots.ts';
import { createPasswordPolicy } from './core/password/policy.ts';
import { createAccountJobs } from './features/auth/account-jobs.ts';
import { createDeviceTokens, DEVICE_TOKEN_KEY_PURPOSE } from './features/auth/device-tokens.ts';
import { createBrowserSessions } from './features/browser-sessions/browser-sessions.ts';
import { BROWSER_SESSION_KEY_PURPOSE } from './features/browser-sessions/cookies.ts';
import { sendLockNotice } from './features/auth/attempts.ts';
import { authLimits, type AuthLimits } from './features/auth/limits.ts';
import { createSessionGate } from './features/auth/session-gate.ts';
import { createAuthorizer } from './features/authorization/authorizer.ts';
import { ensureBuiltInRoles } from './features/authorization/roles-repo.ts';
import { createLockout } from './features/lockout/service.ts';
import { outboxTransport, smtpTransport, type MailTransport } from './features/mail/mailer.ts';
import { createOutgoingMail } from './features/mail/outgoing.ts';
import { createMailQueue, type MailQueue } from './features/mail/queue.ts';
import { createSecondFactorRequirement } from './features/mfa/policy.ts';
import { passkeyFactors } from './features/passkeys/factors.ts';
import { createPasskeys } from './features/passkeys/service.ts';
import { sendResetLink } from './features/recovery/index.ts';
import { deletionJob } from './features/privacy/deletion.ts';
import { orphanFilesJob } from './features/files/index.ts';
import { backupJob } from './features/backup/index.ts';
import { auditPruneJob } from './features/retention/audit-prune-job.ts';
import { DEFAULT_RETENTION, retentionJobs } from './features/retention/jobs.ts';
import { completeRegistration } from './features/registration/index.ts';
import { createRefreshRotation, REFRESH_SUCCESSOR_KEY_PURPOSE } from './features/sessions/successor.ts';
import { createAccessTokens, DEFAULT_VERIFIED_TOKEN_ENTRIES, type AccessClaims } from './features/tokens/access-tokens.ts';
import { createSigningKeySource, type SigningKeySource } from './features/tokens/signing-key-source.ts';
import { ensureSigningKeys } from './features/tokens/signing-keys.ts';
import { createVerifiedTokenCache } from './features/tokens/verified-token-cache.ts';
import { watchSigningKeys, type SigningKeyWatch } from './features/tokens/watch-signing-keys.ts';
import type { WebhookTuning } from './features/webhooks/handler.ts';
import { createSecurityWebhooks } from './features/webhooks/service.ts';
import { createProfileCache } from './features/users/profile-cache.ts';
import { createIncidentFlags } from './features/incident/index.ts';
import { resendVerification } from './features/verification/index.ts';
import { redisDatabase, type RedisClient } from './core/redis.ts';

export interface Services {
  readonly auth: AccountServices;
  /** Where every rate limit counts, and the limits the account routes declare. */
  readonly rateLimits: { readonly stores: CounterStores; readonly auth: AuthLimits };
  readonly signingKeys: SigningKeySource;
  readonly metrics: Metrics;
  /** Runs queued jobs (mail, security webhooks). `serve` starts and stops it; CLI commands never start it. */
  readonly jobs: JobRunner;
  /** Durable mail: `enqueue(trx, message, { userId })` inside the change's transaction. */
  readonly mail: MailQueue;
  /** The audit-chain key versions this process has loaded, by id. */
  readonly auditKeys: AuditKeyLookup;
  /** Every stored audit-chain key version, read afresh: for verifying a trail that spans rotations. */
  readonly loadAuditKeys: () => Promise<AuditKeyLookup>;
  /** Retention purges, one instance at a time. `serve` starts and stops it; `gatehouse jobs run` runs one. */
  readonly scheduler: Scheduler;
  /** With Redis: committed changes' cache tags to and from the other instances. The app subscribes while it serves. */
  readonly cacheBroadcast: CacheBroadcast | null;
  /** Checks every few seconds for a withdrawn signing key (the bound without Redis). The app runs it while it serves. */
  watchSigningKeys(): SigningKeyWatch;
  /** The blind-index keys in force, following a rotation. `serve` starts and stops its reloading. */
  readonly blindIndex: LiveBlindIndex;
}

export interface ServiceResources {
  readonly config: Config;
  readonly database: Database;
  readonly redis: RedisClient | null;
  readonly keyring: Keyring;
  readonly auditKey: AuditKey;
  readonly log: Logger;
  readonly clock: Clock;
  /** Tests pass a lighter hasher; production uses the configured OWASP parameters. */
  readonly passwordHashing?: { memoryKiB: number; passes: number; parallelism: number };
  readonly mailTransport?: MailTransport;
  /** Tests shorten the job runner's intervals. */
  readonly jobTuning?: Partial<JobRunnerTuning>;
  /** Tests shorten the webhook timeout and retries. */
  readonly webhookTuning?: Partial<WebhookTuning>;
}

// Job outcomes and queue depth in the metrics; kinds are handler names, never input.
function jobMetrics(metrics: Metrics, pending: Map<string, number>): JobEvents {
  return {
    onSettled(kind, outcome) {
      if (outcome.status === 'done') metrics.jobsCompleted.inc({ kind });
      else metrics.jobsFailed.inc({ kind, final: String(outcome.final) });
    },
    onQueueDepth(depth) {
      for (const [kind, count] of depth) {
        metrics.jobsPending.set({ kind }, count);
        pending.set(kind, count);
      }
    },
  };
}

function mailTransport(config: Config): MailTransport {
  return config.smtp.url === null ? outboxTransport(join(config.dataDir, 'outbox')) : smtpTransport(config.smtp.url);
}

export async function createServices(resources: ServiceResources): Promise<Services> {
  const { config, database, keyring, clock, log } = resources;
  const db = database.db;
  const auth = config.auth;
  await ensureSigningKeys(db, { keyring, clock });
  await ensureBuiltInRoles(db, clock());
  const signingKeys = createSigningKeySource(db, {
    keyring,
    clock,
    refreshMs: 30_000,
    onRefreshError: (error) => { log.error({ err: error }, 'signing key refresh failed'); },
  });
  const blindIndex = await createLiveBlindIndex({ db, keyring, onReloadError: (error) => { log.error({ err: error }, 'blind-index key reload failed'); } });
  const successorKey = await getOrCreateSystemKey(db, keyring, REFRESH_SUCCESSOR_KEY_PURPOSE);
  const jobPayloadKey = await getOrCreateSystemKey(db, keyring, JOB_PAYLOAD_KEY_PURPOSE);
  const deviceTokenKey = await getOrCreateSystemKey(db, keyring, DEVICE_TOKEN_KEY_PURPOSE);
  const browserSessionKey = await getOrCreateSystemKey(db, keyring, BROWSER_SESSION_KEY_PURPOSE);
  const metrics = createMetrics();
  // Each enqueue is counted and wakes the runner, which is built last, from the handlers.
  const jobsRef: { runner: JobRunner | null } = { runner: null };
  const enqueued = (kind: string) => (count: number): void => {
    metrics.jobsEnqueued.inc({ kind }, count);
    jobsRef.runner?.wake();
  };
  // The runner's last count per kind (every poll): what the webhook observer checks under
  // the audit lock instead of counting rows there.
  const pendingByKind = new Map<string, number>();
  const webhooks = createSecurityWebhooks({
    pendingEstimate: () => pendingByKind.get('webhook') ?? null,
    clock,
    log,
    config: config.administration.webhooks,
    onFailure: () => { metrics.webhookFailures.inc(); },
    onEnqueued: enqueued('webhook'),
    ...(resources.webhookTuning === undefined ? {} : { tuning: resources.webhookTuning }),
  });
  const transport = resources.mailTransport ?? mailTransport(config);
  // The account flows' jobs run the flows themselves, which need the services built below.
  const authRef: { deps: AccountServices | null } = { deps: null };
  const authDeps = (): AccountServices => {
    if (authRef.deps === null) throw new Error('account job before the services were built');
    return authRef.deps;
  };
  const accountJobs = createAccountJobs({ key: jobPayloadKey.key, clock, onEnqueued: (kind) => { enqueued(kind)(1); } }, () => ({
    change: authDeps().change,
    registration: (payload, jobId) => completeRegistration(authDeps(), payload, jobId),
    verificationResend: (payload) => resendVerification(authDeps(), payload),
    resetRequest: (payload) => sendResetLink(authDeps(), payload),
    lockNotice: (payload) => sendLockNotice(authDeps(), payload),
  }));
  const mail = createMailQueue({ key: jobPayloadKey.key, transport, from: config.smtp.from, clock, log, onEnqueued: enqueued('mail') });
  const jobs = createJobRunner({
    db,
    clock,
    log,
    handlers: [mail.handler, ...accountJobs.handlers, ...(webhooks === null ? [] : [webhooks.handler])],
    tuning: { ...DEFAULT_JOB_RUNNER_TUNING, ...resources.jobTuning },
    events: jobMetrics(metrics, pendingByKind),
  });
  jobsRef.runner = jobs;
  const auditKey = resources.auditKey;
  const auditKeys = createAuditKeyStore(keyring, auditKey);
  const audit = createAuditor({
    key: auditKey,
    loadKey: (trx, keyId) => auditKeys.load(trx, keyId),
    clock,
    headCache: createChainHeadCache(),
    observers: webhooks === null ? [metrics.auditObserver] : [metrics.auditObserver, webhooks.observer],
    onAppendTimed: (seconds) => { metrics.auditAppendSeconds.observe(seconds); },
  });
  // Every cache derived from the database, dropped from what each committed change records.
  const invalidation = createCacheInvalidation();
  const sessionGate = createSessionGate({ db, clock });
  const authorizer = createAuthorizer({ db, clock });
  const profiles = createProfileCache({ clock });
  const passkeys = createPasskeys({ db, clock, publicURL: config.publicURL });
  // WebAuthn's RP ID is a host name; browsers refuse every ceremony at an IP address.
  if (isIP(passkeys.relyingParty.id) !== 0) log.warn({ public_url: config.publicURL }, 'PUBLIC_URL names an IP address: passkeys cannot work (use a host name, e.g. http://localhost:8080)');
  const secondFactorRequirement = createSecondFactorRequirement({ db, clock, requiredRoles: auth.mfaRequiredRoles });
  const incidentFlags = createIncidentFlags({ db, clock });
  // The signing keys and the tokens verified with them: dropped when a key is withdrawn at once.
  const verifiedTokens = createVerifiedTokenCache<AccessClaims>({ maxEntries: DEFAULT_VERIFIED_TOKEN_ENTRIES, clock });
  for (const cache of [sessionGate, authorizer, profiles, secondFactorRequirement, incidentFlags, signingKeys, verifiedTokens]) invalidation.register(cache);
  const cacheBroadcast = resources.redis === null ? null : createCacheBroadcast({
    redis: resources.redis,
    invalidation,
    log,
    clock,
    // Pub/sub ignores the database number: the channel carries it, so deployments kept apart
    // by it (as their rate-limit keys are) do not hear each other.
    channel: channelFor(String(redisDatabase(resources.redis))),
    events: {
      onPublished: (count) => { metrics.cacheInvalidationMessages.inc({ event: 'published' }, count); },
      onPublishFailed: () => { metrics.cacheInvalidationMessages.inc({ event: 'publish_failed' }); },
      onReceived: (outcome) => { metrics.cacheInvalidationMessages.inc({ event: outcome === 'applied' ? 'received' : 'rejected' }); },
      onResync: () => { metrics.cacheResyncs.inc(); },
    },
  });
  const change = createChanges({ db, audit, invalidation, ...(cacheBroadcast === null ? {} : { announce: (tags: readonly string[]) => { cacheBroadcast.announce(tags); } }) });
  return {
    blindIndex,
    cacheBroadcast,
    watchSigningKeys: () => watchSigningKeys({ source: signingKeys, invalidation, log }),
    signingKeys,
    metrics,
    auditKeys: auditKeys.lookup,
    loadAuditKeys: () => auditKeys.loadAll(db),
    rateLimits: {
      stores: createCounterStores({ redis: resources.redis, clock, maxKeysPerLimit: 100_000 }),
      auth: authLimits(auth),
    },
    jobs,
    mail,
    scheduler: createScheduler({ db, clock, log, jobs: [
        ...retentionJobs({ change, keyring }, { ...DEFAULT_RETENTION, ipDays: auth.ipRetentionDays }),
        deletionJob({ db, keyring, clock, log, change, mail: createOutgoingMail(mail), publicURL: config.publicURL, graceDays: auth.accountDeletionGraceDays }),
        ...(config.administration.auditRetentionDays === null ? [] : [auditPruneJob({ key: auditKey, loadKeys: (trx) => auditKeys.loadAll(trx), clock, log, retentionDays: config.administration.auditRetentionDays })]),
        ...(config.uploads.filesDir === null ? [] : [orphanFilesJob(config.uploads.filesDir)]),
        ...(config.backups.dir === null ? [] : [backupJob({ database, config: { ...config.backups, dir: config.backups.dir }, filesDir: config.uploads.filesDir, change, keyring, metrics, log })]),
      ], onRun: (name, removed) => { metrics.retentionRemoved.inc({ job: name }, removed); } }),
    auth: (authRef.deps = {
      db,
      clock,
      log,
      publicURL: config.publicURL,
      keyring,
      blindIndex,
      // With WORKERS=N, each worker runs its share of one hash per core (hash-slots.ts).
      passwords: createPasswordHasher({ ...(resources.passwordHashing ?? { memoryKiB: 19_456, passes: 2, parallelism: 1 }), concurrency: defaultHashSlots(config.workers) }),
      policy: createPasswordPolicy({ minLength: auth.passwordMinLength }),
      tokens: createAccessTokens({
        issuer: config.publicURL,
        audience: auth.accessTokenAudience,
        ttlSeconds: auth.accessTokenTtl,
        clock,
        keys: signingKeys,
        cache: verifiedTokens,
      }),
      sessionGate,
      authorizer,
      profiles,
      lifetimes: { idleTtl: auth.refreshIdleTtl, maxAge: auth.sessionMaxAge },
      refreshRotation: createRefreshRotation(successorKey.key, { reuseIntervalSeconds: auth.refreshTokenReuseInterval }),
      lockout: createLockout({
        db,
        clock,
        threshold: auth.lockoutThreshold,
        baseLockSeconds: auth.lockoutDuration,
        maxLockSeconds: 86_400,
      }),
      mail: createOutgoingMail(mail),
      change,
      accountJobs,
      deviceTokens: createDeviceTokens(deviceTokenKey.key),
      secondFactorRequirement,
      incidentFlags,
      reauthMaxAge: auth.reauthMaxAge,
      browserSessions: createBrowserSessions({
        key: browserSessionKey.key,
        publicURL: config.publicURL,
        allowedOrigins: config.cors.origins,
        lifetimes: { accessSeconds: auth.accessTokenTtl, refreshSeconds: auth.refreshIdleTtl },
      }),
      passkeys,
      ...passkeyFactors(passkeys),
    }),
  };
}
