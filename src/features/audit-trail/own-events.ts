// GET /v1/me/events: the security events of the caller's own account (sign-ins, new
// sessions, password and role changes), newest first. Selected by target only (the
// caller's user or one of their sessions, repo.ts), so no query can reach another
// user's records.
//
// What is shown of each event: what happened, when, and with what outcome; who set it
// off only as a kind (`you`, `another_account`, `system`, `unauthenticated`). The ip
// and user agent only when the caller provably did it themself (they were the actor and
// it succeeded): a failed sign-in names the account as actor but was typed by whoever
// tried, and an admin's change carries the admin's address, neither the caller's to
// see. Details are never shown (they may name other people).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { requireAuth } from '../auth/index.ts';
import { decodeCursor, nextCursor } from './cursor.ts';
import type { AuditTrailDeps } from './deps.ts';
import { listOwnEvents, type OwnEventRow } from './repo.ts';
import { OwnEventPage, PageQuery, type InitiatedBy } from './schemas.ts';

type OwnEvent = Static<typeof OwnEventPage>['events'][number];

function initiatedBy(row: OwnEventRow, userId: string): Static<typeof InitiatedBy> {
  if (row.actor_type === 'system') return 'system';
  if (row.actor_type !== 'user') return 'unauthenticated';
  if (row.actor_id !== userId) return 'another_account';
  return row.outcome === 'success' ? 'you' : 'unauthenticated';
}

export function toOwnEvent(row: OwnEventRow, userId: string): OwnEvent {
  const by = initiatedBy(row, userId);
  return {
    id: row.id,
    occurred_at: new Date(row.occurred_at).toISOString(),
    action: row.action,
    outcome: row.outcome,
    initiated_by: by,
    ip: by === 'you' ? row.ip : null,
    user_agent: by === 'you' ? row.user_agent : null,
    // The query matched session targets only among the caller's own sessions.
    session_id: row.target_type === 'session' ? row.target_id : null,
  };
}

export const ownEventRoutes: FastifyPluginCallback<{ deps: Pick<AuditTrailDeps, 'db'> }> = (app, { deps }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/v1/me/events',
    {
      config: { access: 'authenticated' },
      schema: { summary: 'Your account\'s security events', tags: ['me'], security: [{ bearer: [] }], querystring: PageQuery, response: responses({ 200: OwnEventPage }) },
    },
    async (request) => {
      const userId = requireAuth(request).userId;
      const limit = request.query.limit ?? 50;
      const rows = await listOwnEvents(deps.db, userId, { limit, beforeSeq: decodeCursor(request.query.cursor) });
      return { events: rows.slice(0, limit).map((row) => toOwnEvent(row, userId)), next_cursor: nextCursor(rows, limit) };
    },
  );
  done();
};
