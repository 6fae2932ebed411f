// The privacy routes (docs/privacy.md).
// - Export: GET /v1/me/export (the account's owner, GDPR art. 15 and 20) and
//   GET /v1/admin/users/{id}/export (an administrator answering a subject-access
//   request). Both are step-up actions (recent authentication: the archive holds the
//   email, sessions and addresses of the account) and both are audited before the first
//   byte is sent, with who asked. The owner's export is limited to a few a day.
// - Deletion (art. 17): DELETE /v1/me (step-up) schedules it, GET /v1/me/deletion says
//   whether one is scheduled, DELETE /v1/me/deletion keeps the account, and
//   POST /v1/auth/deletion/cancel does so from the mailed link.
import { Readable } from 'node:stream';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Changes } from '../../core/change.ts';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import type { RouteLimit } from '../../core/http/rate-limit.ts';
import { assertMayManage } from '../admin/index.ts';
import { requireAuth, type AuthLimits } from '../auth/index.ts';
import type { Authorizer } from '../authorization/index.ts';
import type { ContentStore } from '../files/index.ts';
import { TokenBody } from '../verification/index.ts';
import { cancelDeletion, cancelDeletionByLink, requestDeletion, scheduledDeletion, type DeletionDeps, type ScheduledDeletion } from './deletion.ts';
import { exportAccount, type ExportDeps } from './export.ts';

export interface PrivacyDeps extends Omit<ExportDeps, 'fileStore'>, Omit<DeletionDeps, 'graceDays'> {
  readonly change: Changes;
  readonly authorizer: Authorizer;
}

export interface PrivacyOptions {
  readonly deps: PrivacyDeps;
  readonly limits: AuthLimits;
  /** ACCOUNT_DELETION_GRACE_DAYS. */
  readonly graceDays: number;
  /** Where uploaded files' contents are, for the export. */
  readonly fileStore: ContentStore;
}

const Deletion = Type.Object(
  {
    scheduled: Type.Boolean(),
    requested_at: Type.Optional(Type.String({ format: 'date-time' })),
    due_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the account will be erased, unless cancelled before' })),
  },
  { additionalProperties: false },
);

function deletionJSON(deletion: ScheduledDeletion | null): { scheduled: boolean; requested_at?: string; due_at?: string } {
  return deletion === null ? { scheduled: false } : { scheduled: true, requested_at: deletion.requestedAt.toISOString(), due_at: deletion.dueAt.toISOString() };
}

const security = [{ bearer: [] }];
const ZIP = Type.String({ format: 'binary', description: 'application/zip: README.txt, profile.json, second-factors.json, sessions.ndjson, security-events.ndjson, manifest.json (docs/privacy.md)' });
const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** Three archives a day per account: enough to retry, not a way to load the server. */
export const EXPORT_LIMIT: RouteLimit = { name: 'data-export', key: 'account', max: 3, windowMs: 86_400_000 };
/** Subject-access requests answered by one administrator: a few an hour, not a bulk copy of every account. */
export const ADMIN_EXPORT_LIMIT: RouteLimit = { name: 'admin-data-export', key: 'account', max: 20, windowMs: 3_600_000 };

async function sendExport(deps: PrivacyDeps, fileStore: ContentStore, request: FastifyRequest, reply: FastifyReply, userId: string): Promise<FastifyReply> {
  const actor = requireAuth(request).userId;
  const archive = await exportAccount({ db: deps.db, keyring: deps.keyring, clock: deps.clock, fileStore }, userId);
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

export const privacyRoutes: FastifyPluginCallback<PrivacyOptions> = (app, { deps, limits, graceDays, fileStore }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const deletionDeps: DeletionDeps = { ...deps, graceDays };

  typed.get(
    '/v1/me/export',
    {
      config: { access: 'authenticated', recentAuth: true, rateLimit: [EXPORT_LIMIT] },
      schema: { summary: 'Download everything held about your account (ZIP)', tags: ['me'], security, response: responses({ 200: ZIP }) },
    },
    async (request, reply) => {
      // The schema types the body as a string; the stream is sent as is, never serialized.
      const untyped: FastifyReply = reply;
      return sendExport(deps, fileStore, request, untyped, requireAuth(request).userId);
    },
  );

  typed.get(
    '/v1/admin/users/:id/export',
    {
      config: { access: { permission: 'users:read' }, recentAuth: true, rateLimit: [ADMIN_EXPORT_LIMIT] },
      schema: { summary: 'Download everything held about a user (subject access)', tags: ['admin'], security, params: UserParams, response: responses({ 200: ZIP }) },
    },
    async (request, reply) => {
      const untyped: FastifyReply = reply;
      // As for every action on a user: nobody copies out the data of an account holding permissions they lack (support cannot export an admin).
      await assertMayManage(deps.db, deps.authorizer, requireAuth(request).userId, request.params.id);
      return sendExport(deps, fileStore, request, untyped, request.params.id);
    },
  );

  typed.delete(
    '/v1/me',
    {
      config: { access: 'authenticated', recentAuth: true },
      schema: {
        summary: 'Delete your account (after a grace period; signs you out everywhere)',
        description: '202 with the date of erasure when a grace period applies (a mailed link, or logging in and DELETE /v1/me/deletion, cancels it); 204 when the account was erased at once.',
        tags: ['me'],
        security,
        response: responses({ 202: Deletion, 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      const scheduled = await requestDeletion(deletionDeps, requireAuth(request).userId, request.auditContext);
      if (scheduled === null) return reply.code(204).send(null);
      return reply.code(202).send(deletionJSON(scheduled));
    },
  );

  typed.get(
    '/v1/me/deletion',
    { config: { access: 'authenticated' }, schema: { summary: 'Whether your account\'s deletion is scheduled', tags: ['me'], security, response: responses({ 200: Deletion }) } },
    async (request) => deletionJSON(await scheduledDeletion(deps.db, requireAuth(request).userId)),
  );

  typed.delete(
    '/v1/me/deletion',
    { config: { access: 'authenticated' }, schema: { summary: 'Keep your account: cancel its scheduled deletion', tags: ['me'], security, response: responses({ 200: Deletion }) } },
    async (request) => {
      await cancelDeletion(deletionDeps, requireAuth(request).userId, request.auditContext);
      return deletionJSON(null);
    },
  );

  typed.post(
    '/v1/auth/deletion/cancel',
    {
      config: { access: 'public', rateLimit: [limits.address] },
      schema: { summary: 'Keep your account: cancel its deletion with the mailed link', tags: ['auth'], body: TokenBody, response: responses({ 204: Type.Null() }) },
    },
    async (request, reply) => {
      await cancelDeletionByLink(deletionDeps, request.body.token, request.auditContext);
      return reply.code(204).send(null);
    },
  );
  done();
};
