// What features call: record an event inside the transaction of the change it describes.
// The request context (ip, user agent, request id) travels with the call, not globally.
import type { Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { appendAuditEvent, appendAuditEventFlushingLater } from './append.ts';
import type { AppendedAuditEvent, AuditDeps, AuditEventInput } from './types.ts';

export interface RequestContext {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export type AuditEvent = Omit<AuditEventInput, 'ip' | 'userAgent' | 'requestId'>;

/**
 * Sees each event right after it is appended, inside the same transaction: the security
 * webhook outbox writes its row there (so an event is delivered exactly when its change
 * commits), and metrics count it. An observer that throws rolls the change back.
 */
export type AuditObserver = (trx: Transaction<Schema>, event: AuditEventInput, appended: AppendedAuditEvent) => Promise<void> | void;

export interface RecordOptions {
  /**
   * Commit without waiting for the WAL flush; the caller flushes after the commit and
   * before reporting success (core/change.ts does).
   */
  readonly flushLater?: boolean;
}

export interface Auditor {
  record(trx: Transaction<Schema>, context: RequestContext, event: AuditEvent, options?: RecordOptions): Promise<AppendedAuditEvent>;
}

export interface AuditorOptions {
  readonly observers?: readonly AuditObserver[];
  /** Told how long each append took (waiting for the chain lock included), failed ones too: for the latency metric. */
  readonly onAppendTimed?: (seconds: number) => void;
}

export function createAuditor(deps: AuditDeps & AuditorOptions): Auditor {
  const observers = deps.observers ?? [];
  return {
    async record(trx, context, event, options = {}) {
      const input: AuditEventInput = {
        ...event,
        ...(context.ip === null ? {} : { ip: context.ip }),
        ...(context.userAgent === null ? {} : { userAgent: context.userAgent.slice(0, 256) }),
        ...(context.requestId === null ? {} : { requestId: context.requestId }),
      };
      const started = performance.now();
      let appended: AppendedAuditEvent;
      try {
        appended = options.flushLater === true ? await appendAuditEventFlushingLater(trx, deps, input) : await appendAuditEvent(trx, deps, input);
      } finally {
        deps.onAppendTimed?.((performance.now() - started) / 1000);
      }
      for (const observe of observers) await observe(trx, input, appended);
      return appended;
    },
  };
}
