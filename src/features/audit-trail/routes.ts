// /v1/admin/audit: the trail for people who hold `audit:read` (auditors, admins), and
// /v1/me/events for everyone else's view of their own account (own-events.ts).
import { Readable } from 'node:stream';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import type { AuditKeyLookup, AuditRecord } from '../../core/audit/types.ts';
import { responses } from '../../core/http/problem.ts';
import { requireAuth } from '../auth/index.ts';
import { decodeCursor, nextCursor } from './cursor.ts';
import type { AuditTrailDeps } from './deps.ts';
import { exportAuditTrail } from './export.ts';
import { ownEventRoutes } from './own-events.ts';
import { listAuditEvents, type AuditFilter } from './repo.ts';
import { AuditPage, AuditQuery, ExportQuery, NDJSON, Verification } from './schemas.ts';
import { createChainCheck } from './verify-route.ts';

const tags = ['audit'];
const security = [{ bearer: [] }];
const auditRead = { access: { permission: 'audit:read' } } as const;
const EXPORT_BATCH = 500;

export interface AuditTrailOptions {
  readonly deps: AuditTrailDeps;
  /** Every audit-chain key version, read afresh for each verification (a rotation may have added one). */
  readonly keys: () => Promise<AuditKeyLookup>;
}

function toEvent(record: AuditRecord): Static<typeof AuditPage>['events'][number] {
  return { ...record, occurred_at: new Date(record.occurred_at).toISOString() };
}

function filterOf(query: Static<typeof AuditQuery>): AuditFilter {
  return {
    ...(query.actor === undefined ? {} : { actor: query.actor }),
    ...(query.target === undefined ? {} : { target: query.target }),
    ...(query.action === undefined ? {} : { action: query.action }),
    ...(query.outcome === undefined ? {} : { outcome: query.outcome }),
    ...(query.from === undefined ? {} : { from: new Date(query.from) }),
    ...(query.to === undefined ? {} : { to: new Date(query.to) }),
  };
}

async function recordExport(deps: AuditTrailDeps, request: FastifyRequest, fromSeq: number | null): Promise<void> {
  // Who copied the trail out is itself part of the trail.
  await deps.change(request.auditContext, ({ audit }) => {
    audit({
      actor: { type: 'user', id: requireAuth(request).userId },
      action: 'audit.exported',
      outcome: 'success',
      details: { from_seq: fromSeq },
    });
    return Promise.resolve();
  });
}

export const auditTrailRoutes: FastifyPluginCallback<AuditTrailOptions> = (app, { deps, keys }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const check = createChainCheck({ db: deps.db, keys, change: deps.change, log: deps.log });

  typed.get(
    '/v1/admin/audit',
    { config: auditRead, schema: { summary: 'Search the audit trail', tags, security, querystring: AuditQuery, response: responses({ 200: AuditPage }) } },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const rows = await listAuditEvents(deps.db, filterOf(request.query), { limit, beforeSeq: decodeCursor(request.query.cursor) });
      return { events: rows.slice(0, limit).map(toEvent), next_cursor: nextCursor(rows, limit) };
    },
  );

  typed.get(
    '/v1/admin/audit/export',
    { config: auditRead, schema: { summary: 'Export the audit trail as NDJSON', tags, security, querystring: ExportQuery, response: responses({ 200: NDJSON }) } },
    async (request, reply) => {
      const fromSeq = request.query.from_seq ?? null;
      await recordExport(deps, request, fromSeq);
      const lines = exportAuditTrail(deps.db, { fromSeq, batchSize: EXPORT_BATCH });
      void reply.type('application/x-ndjson; charset=utf-8').header('content-disposition', 'attachment; filename="audit-export.ndjson"');
      // The schema types the body as a string; the stream is sent as is, never serialized.
      const untyped: FastifyReply = reply;
      return untyped.send(Readable.from(lines));
    },
  );

  typed.get(
    '/v1/admin/audit/verify',
    { config: auditRead, schema: { summary: 'Verify the audit chain', tags, security, response: responses({ 200: Verification }) } },
    async (request) => check(request.auditContext, requireAuth(request).userId),
  );

  void app.register(ownEventRoutes, { deps });
  done();
};
