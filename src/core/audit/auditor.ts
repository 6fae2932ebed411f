// What features call: record an event inside the transaction of the change it describes.
// The request context (ip, user agent, request id) travels with the call, not globally.
import type { Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { appendAuditEvent } from './append.ts';
import type { AppendedAuditEvent, AuditDeps, AuditEventInput } from './types.ts';

export interface RequestContext {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export type AuditEvent = Omit<AuditEventInput, 'ip' | 'userAgent' | 'requestId'>;

export interface Auditor {
  record(trx: Transaction<Schema>, context: RequestContext, event: AuditEvent): Promise<AppendedAuditEvent>;
}

export function createAuditor(deps: AuditDeps): Auditor {
  return {
    record(trx, context, event) {
      return appendAuditEvent(trx, deps, {
        ...event,
        ...(context.ip === null ? {} : { ip: context.ip }),
        ...(context.userAgent === null ? {} : { userAgent: context.userAgent.slice(0, 256) }),
        ...(context.requestId === null ? {} : { requestId: context.requestId }),
      });
    },
  };
}
