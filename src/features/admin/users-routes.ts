// /v1/admin/users: each route names the permission it needs next to its schema; the
// authentication hook checks it against the caller's current roles before the body is
// parsed. The actor of every change is the authenticated caller.
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import { requireAuth } from '../auth/index.ts';
import { weakPasswordError } from '../auth/index.ts';
import type { Permission } from '../authorization/index.ts';
import { permissionsOfRoles } from '../authorization/index.ts';
import { createAccount } from '../users/index.ts';
import { accountLocks } from './account-locks.ts';
import type { AdminUserDeps } from './deps.ts';
import { removeSecondFactorsByAdmin } from './mfa-reset.ts';
import { findAdminUserView, listAdminUserViews, type AdminUserView } from './users-repo.ts';
import { issueInvitation } from './invitations.ts';
import { AdminUser, CreateUserBody, PatchUserBody, RevokedCount, UserListQuery, UserPage, UserParams, UserRoleParams } from './schemas.ts';
import { assertHoldsAll } from './guards.ts';
import {
  deleteUserByAdmin,
  revokeSessionsByAdmin,
  sendPasswordResetByAdmin,
  setUserRole,
  unlockUserByAdmin,
  updateUserByAdmin,
  type AdminActor,
} from './users-service.ts';

const tags = ['admin'];
const security = [{ bearer: [] }];
const needs = (permission: Permission): { access: { permission: Permission } } => ({ access: { permission } });
/** A role change or a factor removal is a step-up action: the admin authenticated recently. */
const needsRecent = (permission: Permission): { access: { permission: Permission }; recentAuth: true } => ({ access: { permission }, recentAuth: true });

export function actorOf(request: FastifyRequest): AdminActor {
  return { userId: requireAuth(request).userId, context: request.auditContext };
}

function toJSON(user: AdminUserView, lockedUntil: Date | undefined): Static<typeof AdminUser> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    email_verified: user.emailVerified,
    status: user.status,
    roles: user.roles,
    locked_until: lockedUntil?.toISOString() ?? null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export const adminUserRoutes: FastifyPluginCallback<{ deps: AdminUserDeps }> = (app, { deps }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  async function view(id: string): Promise<Static<typeof AdminUser>> {
    const user = await findAdminUserView(deps.db, deps.keyring, id);
    if (user === null) throw new AppError('not_found', { detail: 'no such user' });
    return toJSON(user, (await accountLocks(deps.lockout, [user])).get(user.id));
  }

  typed.get(
    '/v1/admin/users',
    { config: needs('users:read'), schema: { summary: 'List users', tags, security, querystring: UserListQuery, response: responses({ 200: UserPage }) } },
    async (request) => {
      const { query, status, cursor, limit } = request.query;
      const page = await listAdminUserViews(deps.db, deps.keyring, {
        limit,
        ...(query === undefined ? {} : { emailIndexes: deps.blindIndex.emailCandidates(query) }),
        ...(status === undefined ? {} : { status }),
        ...(cursor === undefined ? {} : { after: cursor }),
      });
      const last = page.users.at(-1);
      const locks = await accountLocks(deps.lockout, page.users);
      return { users: page.users.map((user) => toJSON(user, locks.get(user.id))), next_cursor: page.more && last !== undefined ? last.id : null };
    },
  );

  typed.post(
    '/v1/admin/users',
    // Creating a user with roles is granting them: a step-up action like assigning one.
    { config: needsRecent('users:write'), schema: { summary: 'Create a user', tags, security, body: CreateUserBody, response: responses({ 201: AdminUser }) } },
    async (request, reply) => {
      const actor = actorOf(request);
      const body = request.body;
      const roles = body.roles ?? [];
      // Creating a user with a role is granting it. Checked early (before the password
      // hash is paid for), and again inside the creating transaction with the roles' rows
      // locked, so a role widened meanwhile is judged as it commits.
      await assertHoldsAll(deps.authorizer, actor.userId, await permissionsOfRoles(deps.db, roles));
      // Nobody vouches for an address nobody has a password for: only the invitation verifies it.
      if (body.password === undefined && body.email_verified === true) {
        throw new AppError('invalid_request', { detail: 'email_verified without password', fields: [{ field: '/body/email_verified', rule: 'requires_password' }] });
      }
      // Every account the API creates gets an invitation, except one whose password the
      // administrator set and whose address they vouch for (as `users create` does).
      const invite = body.password === undefined || body.email_verified !== true;
      const result = await createAccount(
        deps,
        { email: body.email, name: body.name ?? null, password: body.password ?? null, roles, emailVerified: body.email_verified ?? false },
        { actor: { type: 'user', id: actor.userId }, context: actor.context },
        {
          authorizeRoles: async (trx, granted) => assertHoldsAll(deps.authorizer, actor.userId, await permissionsOfRoles(trx, granted, { lock: true })),
          ...(invite ? { onCreated: (change, id) => issueInvitation(deps, change, actor, { id, email: body.email.trim() }) } : {}),
        },
      );
      if (result.kind === 'weak_password') throw weakPasswordError(result.verdict);
      if (result.kind === 'unknown_role') throw new AppError('invalid_request', { detail: 'unknown role', fields: [{ field: '/body/roles', rule: 'unknown_role' }] });
      if (result.kind === 'email_taken') throw new AppError('conflict', { detail: 'email taken' });
      return reply.code(201).send(await view(result.id));
    },
  );

  typed.get('/v1/admin/users/:id', { config: needs('users:read'), schema: { summary: 'Read a user', tags, security, params: UserParams, response: responses({ 200: AdminUser }) } }, async (request) =>
    view(request.params.id),
  );

  typed.patch(
    '/v1/admin/users/:id',
    { config: needs('users:write'), schema: { summary: 'Change a user', tags, security, params: UserParams, body: PatchUserBody, response: responses({ 200: AdminUser }) } },
    async (request) => {
      await updateUserByAdmin(deps, actorOf(request), request.params.id, request.body);
      return view(request.params.id);
    },
  );

  typed.delete(
    '/v1/admin/users/:id',
    { config: needs('users:delete'), schema: { summary: 'Delete a user and their data key', tags, security, params: UserParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await deleteUserByAdmin(deps, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  typed.put(
    '/v1/admin/users/:id/roles/:role',
    { config: needsRecent('roles:assign'), schema: { summary: 'Assign a role to a user', tags, security, params: UserRoleParams, response: responses({ 200: AdminUser }) } },
    async (request) => {
      await setUserRole(deps, actorOf(request), request.params.id, request.params.role, 'assign');
      return view(request.params.id);
    },
  );

  typed.delete(
    '/v1/admin/users/:id/roles/:role',
    { config: needsRecent('roles:assign'), schema: { summary: 'Remove a role from a user', tags, security, params: UserRoleParams, response: responses({ 200: AdminUser }) } },
    async (request) => {
      await setUserRole(deps, actorOf(request), request.params.id, request.params.role, 'remove');
      return view(request.params.id);
    },
  );

  typed.delete(
    '/v1/admin/users/:id/mfa',
    {
      // Whoever strips a factor must have used one, whatever MFA_REQUIRED_ROLES says: a
      // phished support password alone must not undo someone else's second factor.
      config: { ...needsRecent('users:write'), mfaSession: true },
      schema: { summary: 'Remove a user\'s second factors and end their sessions', tags, security, params: UserParams, response: responses({ 204: Type.Null() }) },
    },
    async (request, reply) => {
      await removeSecondFactorsByAdmin(deps, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    '/v1/admin/users/:id/unlock',
    { config: needs('users:lock'), schema: { summary: 'Unlock a locked-out account', tags, security, params: UserParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await unlockUserByAdmin(deps, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    '/v1/admin/users/:id/sessions/revoke',
    { config: needs('sessions:revoke'), schema: { summary: 'End all of a user\'s sessions', tags, security, params: UserParams, response: responses({ 200: RevokedCount }) } },
    async (request) => ({ revoked: await revokeSessionsByAdmin(deps, actorOf(request), request.params.id) }),
  );

  typed.post(
    '/v1/admin/users/:id/password-reset',
    { config: needs('users:write'), schema: { summary: 'Send a user a password-reset mail', tags, security, params: UserParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await sendPasswordResetByAdmin(deps, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  done();
};
