// The data export routes: GET /v1/me/export (the account's owner, GDPR art. 15 and 20) and
// GET /v1/admin/users/{id}/export (an administrator answering a subject-access request).
// Both are step-up actions (recent authentication: the archive holds the email, sessions
// and addresses of the account) and both are audited before the first byte is sent, with
// who asked. The owner's export is limited to a few a day.
import { Readable } from 'node:stream';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Changes } from '../../core/change.ts';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import type { RouteLimit } from '../../core/http/rate-limit.ts';
import { requireAuth } from '../auth/index.ts';
import { exportAccount, type ExportDeps } from './export.ts';

export interface PrivacyDeps extends ExportDeps {
  readonly change: Changes;
}

const security = [{ bearer: [] }];
const ZIP = Type.String({ format: 'binary', description: 'application/zip: README.txt, profile.json, second-factors.json, sessions.ndjson, security-events.ndjson, manifest.json (docs/privacy.md)' });
const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** Three archives a day per account: enough to retry, not a way to load the server. */
export const EXPORT_LIMIT: RouteLimit = { name: 'data-export', key: 'account', max: 3, windowMs: 86_400_000 };

async function sendExport(deps: PrivacyDeps, request: FastifyRequest, reply: FastifyReply, userId: string): Promise<FastifyReply> {
  const actor = requireAuth(request).userId;
  const archive = await exportAccount(deps, userId);
  if (archive === null) throw new AppError('not_found', { detail: 'no such user' });
  await deps.change(request.auditContext, ({ audit }) => {
    audit({
      actor: { type: 'user', id: actor },
      action: 'user.exported',
      target: { type: 'user', id: userId },
      outcome: 'success',
      details: { by: actor === userId ? 'self' : 'administrator' },
    });
    return Promise.resolve();
  });
  const day = deps.clock().toISOString().slice(0, 10);
  return reply
    .type('application/zip')
    .header('content-disposition', `attachment; filename="gatehouse-export-${day}.zip"`)
    .header('cache-control', 'no-store')
    .send(archive satisfies Readable);
}

export const privacyRoutes: FastifyPluginCallback<{ deps: PrivacyDeps }> = (app, { deps }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get(
    '/v1/me/export',
    {
      config: { access: 'authenticated', recentAuth: true, rateLimit: [EXPORT_LIMIT] },
      schema: { summary: 'Download everything held about your account (ZIP)', tags: ['me'], security, response: responses({ 200: ZIP }) },
    },
    async (request, reply) => {
      // The schema types the body as a string; the stream is sent as is, never serialized.
      const untyped: FastifyReply = reply;
      return sendExport(deps, request, untyped, requireAuth(request).userId);
    },
  );

  typed.get(
    '/v1/admin/users/:id/export',
    {
      config: { access: { permission: 'users:read' }, recentAuth: true },
      schema: { summary: 'Download everything held about a user (subject-access request)', tags: ['admin'], security, params: UserParams, response: responses({ 200: ZIP }) },
    },
    async (request, reply) => {
      const untyped: FastifyReply = reply;
      return sendExport(deps, request, untyped, request.params.id);
    },
  );
  done();
};
