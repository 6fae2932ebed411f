// The one way to make a change: every write path of every feature goes through `change`.
// It opens the transaction, runs the change, writes the jobs the change enqueued (mail,
// and whatever later background work), appends the audit records as the last statements
// before the commit, and after the commit drops the cached entries the records name.
//
// - The audit records are appended at the end, in the order the change recorded them,
//   because appending takes the chain lock (core/audit/append.ts), held to the commit:
//   whatever ran after the first append would run serialized with every other change.
// - Cache invalidation is derived from the records' targets (`user:<id>`,
//   `session:<id>`, `roles` for any role, `incident` for the containment switches), so a writer cannot forget to drop what its
//   change made stale: it already has to say what it changed, for the audit trail. The
//   same tags are announced to the other instances when Redis is configured.
// - Durability: with records to append, the transaction commits without waiting for the
//   WAL flush, which releases the chain lock at once; the flush is awaited after the
//   lock by a tiny transaction that many concurrent changes share one fsync with
//   (flushWAL). The caller hears of success only once its change is durable, as with a
//   synchronous commit. See docs/architecture.md "Audited changes".
// - A change started inside another change joins it: its records, jobs and
//   invalidations happen with the outer one's, after the outer commit.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Transaction } from 'kysely';
import type { AuditEvent, Auditor, RequestContext } from './audit/auditor.ts';
import { flushWAL } from './audit/flush.ts';
import type { CacheInvalidation } from './cache.ts';
import type { DB } from './db/database.ts';
import type { Schema } from './db/schema.ts';

/** Work written in the change's transaction (a job row), and told once the change committed. */
export interface PendingJob {
  write(trx: Transaction<Schema>): Promise<void>;
  committed?(): void;
}

export interface Change {
  readonly trx: Transaction<Schema>;
  /** Records what changed; appended to the audit trail just before the commit. */
  readonly audit: (event: AuditEvent) => void;
  /** Background work that exists exactly when the change commits. */
  readonly enqueue: (job: PendingJob) => void;
}

export type Changes = <T>(context: RequestContext, fn: (change: Change) => Promise<T>) => Promise<T>;

export interface ChangeDeps {
  readonly db: DB;
  readonly audit: Auditor;
  readonly invalidation: CacheInvalidation;
  /**
   * Tells the other instances which tags a committed change made stale (Redis pub/sub,
   * core/cache-broadcast.ts). Never throws and never waits: the change has committed, and
   * an instance that misses the message still drops the entries when their TTL ends.
   */
  readonly announce?: (tags: readonly string[]) => void;
}

interface Pending {
  readonly records: { readonly context: RequestContext; readonly event: AuditEvent }[];
  readonly jobs: PendingJob[];
}

// Targets cached as a whole rather than by id: any role (permissions are cached per user
// from every role), and the containment switches (one row; features/incident).
const WHOLE_TAGS: Readonly<Record<string, string>> = { role: 'roles', incident: 'incident' };

/** The cache tags an audit record makes stale. */
export function invalidatedTags(events: readonly AuditEvent[]): string[] {
  const tags = new Set<string>();
  for (const { target } of events) {
    if (target === undefined) continue;
    tags.add(WHOLE_TAGS[target.type] ?? `${target.type}:${target.id}`);
  }
  return [...tags];
}

// The change has committed; only its flush to disk is unconfirmed. A dropped connection
// is tried again on another before the caller hears of a failure (which would make a
// retried job repeat work that did commit).
const FLUSH_ATTEMPTS = 3;

async function flushDurably(db: DB): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await flushWAL(db);
      return;
    } catch (error) {
      if (attempt >= FLUSH_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

export function createChanges(deps: ChangeDeps): Changes {
  const current = new AsyncLocalStorage<{ readonly change: Change; readonly pending: Pending }>();

  async function commit<T>(context: RequestContext, fn: (change: Change) => Promise<T>): Promise<T> {
    const pending: Pending = { records: [], jobs: [] };
    const value = await deps.db.transaction().execute(async (trx) => {
      const change: Change = {
        trx,
        audit: (event) => { pending.records.push({ context, event }); },
        enqueue: (job) => { pending.jobs.push(job); },
      };
      const result = await current.run({ change, pending }, () => fn(change));
      for (const job of pending.jobs) await job.write(trx);
      for (const record of pending.records) await deps.audit.record(trx, record.context, record.event, { flushLater: true });
      return result;
    });
    const stale = invalidatedTags(pending.records.map((record) => record.event));
    for (const tag of stale) deps.invalidation.invalidate(tag);
    if (stale.length > 0) deps.announce?.(stale);
    if (pending.records.length > 0) await flushDurably(deps.db);
    for (const job of pending.jobs) job.committed?.();
    return value;
  }

  return async (context, fn) => {
    const outer = current.getStore();
    if (outer === undefined) return commit(context, fn);
    // Joined: the outer change writes, appends and invalidates for both, after its own
    // work; the nested change's records keep the request context it was given.
    const joined: Change = {
      trx: outer.change.trx,
      audit: (event) => { outer.pending.records.push({ context, event }); },
      enqueue: outer.change.enqueue,
    };
    return fn(joined);
  };
}
