// /v1/me, the settings flow: the signed-in user's own profile, password and sessions.
// Every query is scoped by the caller's user id, so another user's session id answers 404.
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import { requireAuth, type AuthLimits } from '../auth/index.ts';
import { listActiveSessions, revokeOwnSession } from '../sessions/index.ts';
import { loadProfile, updateName } from '../users/index.ts';
import { changePassword, revokeOtherSessions } from './account.ts';
import type { SettingsDeps } from './deps.ts';
import { PasswordBody, PatchBody, Profile, Session, SessionParams } from './schemas.ts';

const tags = ['me'];
const security = [{ bearer: [] }];

export const settingsRoutes: FastifyPluginCallback<{ deps: SettingsDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const authenticated = { access: 'authenticated' as const };

  async function profileOf(userId: string): Promise<Static<typeof Profile>> {
    const [profile, permissions] = await Promise.all([deps.profiles.get(userId, () => loadProfile(deps.db, deps.keyring, userId)), deps.authorizer.permissionsOf(userId)]);
    if (profile === null) throw new AppError('not_found', { detail: 'profile gone (deleted or shredded)' });
    return {
      id: profile.id,
      email: profile.email,
      name: profile.name,
      email_verified: profile.emailVerified,
      roles: profile.roles,
      permissions: [...permissions].sort(),
      created_at: profile.createdAt.toISOString(),
    };
  }

  typed.get('/v1/me', { config: authenticated, schema: { summary: 'Read your profile', tags, security, response: responses({ 200: Profile }) } }, async (request) =>
    profileOf(requireAuth(request).userId),
  );

  typed.patch(
    '/v1/me',
    { config: authenticated, schema: { summary: 'Change your profile', tags, security, body: PatchBody, response: responses({ 200: Profile }) } },
    async (request) => {
      const auth = requireAuth(request);
      await deps.change(request.auditContext, async ({ trx, audit }) => {
        await updateName(trx, deps.keyring, auth.userId, request.body.name, deps.clock());
        audit({
          actor: { type: 'user', id: auth.userId },
          action: 'user.updated',
          target: { type: 'user', id: auth.userId },
          outcome: 'success',
          details: { fields: ['name'] },
        });
      });
      return profileOf(auth.userId);
    },
  );

  typed.post(
    '/v1/me/password',
    // The current password is a guess like a login's: the same per-address+account budget,
    // the account being the signed-in user (and the account's lockout, in changePassword).
    { config: { ...authenticated, recentAuth: true, rateLimit: [limits.account] }, schema: { summary: 'Change your password', tags, security, body: PasswordBody, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      const auth = requireAuth(request);
      await changePassword(deps, auth, { currentPassword: request.body.current_password, newPassword: request.body.new_password }, request.auditContext);
      return reply.code(204).send(null);
    },
  );

  typed.get(
    '/v1/me/sessions',
    { config: authenticated, schema: { summary: 'List your live sessions', tags, security, response: responses({ 200: Type.Array(Session, { maxItems: 200 }) }) } },
    async (request) => {
      const auth = requireAuth(request);
      const sessions = await listActiveSessions(deps.db, deps.keyring, auth.userId, deps.clock());
      return sessions.map((session) => ({
        id: session.id,
        created_at: session.createdAt.toISOString(),
        last_used_at: session.lastUsedAt.toISOString(),
        ip: session.ip,
        user_agent: session.userAgent,
        current: session.id === auth.sessionId,
        auth_method: session.authMethod,
        amr: [...session.amr],
        auth_time: session.authTime.toISOString(),
      }));
    },
  );

  typed.delete(
    '/v1/me/sessions/:id',
    { config: authenticated, schema: { summary: 'End one of your sessions', tags, security, params: SessionParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const revoked = await revokeOwnSession(deps, auth, request.params.id, 'user_revoked', request.auditContext);
      // Someone else's session, an unknown id and an ended session all look the same.
      if (!revoked) throw new AppError('not_found', { detail: 'no such live session for this user' });
      return reply.code(204).send(null);
    },
  );

  typed.delete(
    '/v1/me/sessions',
    { config: authenticated, schema: { summary: 'End all your sessions but this one', tags, security, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await revokeOtherSessions(deps, requireAuth(request), request.auditContext);
      return reply.code(204).send(null);
    },
  );
  done();
};
