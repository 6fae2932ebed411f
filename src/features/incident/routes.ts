// POST /v1/admin/incident/sign-out: the CLI's `gatehouse incident sign-out` for an
// administrator without shell access. Its permission (`incident:respond`) is the admin
// role's alone by default; like the other dangerous admin routes it needs a recent
// authentication (step-up) and a session that used a second factor, so a phished password
// alone cannot sign everyone out. The caller's own session is kept, whatever the scope, so
// the responder is not locked out of the console in the middle of the response; a single
// user's scope is checked like the per-user "sign out everywhere" (support cannot sign out
// an admin).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { assertMayManage } from '../admin/index.ts';
import { requireAuth } from '../auth/index.ts';
import { ROLE_NAME_PATTERN } from '../authorization/index.ts';
import type { IncidentDeps } from './deps.ts';
import type { ContainmentScope } from './scope.ts';
import { signOutSessions } from './sign-out.ts';

const strict = { additionalProperties: false } as const;

export const SignOutBody = Type.Union(
  [
    Type.Object({ scope: Type.Literal('all') }, strict),
    Type.Object({ scope: Type.Literal('role'), role: Type.String({ pattern: ROLE_NAME_PATTERN, minLength: 1, maxLength: 63 }) }, strict),
    Type.Object({ scope: Type.Literal('user'), user_id: Type.String({ format: 'uuid' }) }, strict),
  ],
  { description: 'Whose sessions end: everyone\'s, a role\'s holders\', or one user\'s' },
);

export const SignOutResponse = Type.Object(
  {
    revoked: Type.Integer({ minimum: 0, description: 'Sessions ended by this call (0 when none was live: a repeat changes nothing)' }),
    kept_session: Type.String({ format: 'uuid', description: 'The caller\'s own session, never ended by this call' }),
  },
  strict,
);

export const incidentRoutes: FastifyPluginCallback<{ deps: IncidentDeps }> = (app, { deps }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.post(
    '/v1/admin/incident/sign-out',
    {
      config: { access: { permission: 'incident:respond' }, recentAuth: true, mfaSession: true },
      schema: {
        summary: 'End every live session of everyone, a role or a user (incident containment)',
        description: 'The caller\'s own session is kept. Step-up and a second-factor session are required (docs/incident-containment.md).',
        tags: ['admin'],
        security: [{ bearer: [] }],
        body: SignOutBody,
        response: responses({ 200: SignOutResponse }),
      },
    },
    async (request) => {
      const auth = requireAuth(request);
      const body = request.body;
      const scope: ContainmentScope = body.scope === 'all' ? { kind: 'all' } : body.scope === 'role' ? { kind: 'role', role: body.role } : { kind: 'user', userId: body.user_id.toLowerCase() };
      if (scope.kind === 'user') await assertMayManage(deps.db, deps.authorizer, auth.userId, scope.userId);
      const result = await signOutSessions(deps, { actor: { type: 'user', id: auth.userId }, context: request.auditContext }, scope, { keepSession: auth.sessionId });
      return { revoked: result.revoked, kept_session: auth.sessionId };
    },
  );
  done();
};
