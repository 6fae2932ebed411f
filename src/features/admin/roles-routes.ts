// /v1/admin/roles: the built-in roles and custom ones, read with `roles:read`, defined,
// changed and deleted with `roles:write` (built-in roles answer `built_in_role`);
// /v1/admin/permissions: the catalog a custom role's permissions come from.
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import { findRole, listRoleDefinitions, PERMISSION_DESCRIPTIONS, PERMISSIONS, type StoredRole } from '../authorization/index.ts';
import type { AdminRoleDeps } from './deps.ts';
import { createCustomRole, deleteCustomRole, replaceCustomRole } from './roles-service.ts';
import { CreateRoleBody, PermissionCatalog, ReplaceRoleBody, Role, RoleParams } from './schemas.ts';
import { actorOf } from './users-routes.ts';

const tags = ['admin'];
const security = [{ bearer: [] }];
const read = { access: { permission: 'roles:read' as const } };
// Changing what a role grants is a step-up action: the admin authenticated recently.
const write = { access: { permission: 'roles:write' as const }, recentAuth: true as const };

function toJSON(role: StoredRole): Static<typeof Role> {
  return {
    name: role.name,
    description: role.description,
    built_in: role.builtIn,
    permissions: [...role.permissions],
    created_at: role.createdAt.toISOString(),
    updated_at: role.updatedAt.toISOString(),
  };
}

export const adminRoleRoutes: FastifyPluginCallback<{ deps: AdminRoleDeps }> = (app, { deps }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  async function view(name: string): Promise<Static<typeof Role>> {
    const role = await findRole(deps.db, name);
    if (role === null) throw new AppError('not_found', { detail: 'no such role' });
    return toJSON(role);
  }

  typed.get('/v1/admin/roles', { config: read, schema: { summary: 'List roles', tags, security, response: responses({ 200: Type.Array(Role, { maxItems: 1000 }) }) } }, async () =>
    (await listRoleDefinitions(deps.db)).map(toJSON),
  );

  typed.get(
    '/v1/admin/permissions',
    { config: read, schema: { summary: 'List the permission catalog', tags, security, response: responses({ 200: PermissionCatalog }) } },
    () => ({ permissions: PERMISSIONS.map((name) => ({ name, description: PERMISSION_DESCRIPTIONS[name] })) }),
  );

  typed.post(
    '/v1/admin/roles',
    { config: write, schema: { summary: 'Create a custom role', tags, security, body: CreateRoleBody, response: responses({ 201: Role }) } },
    async (request, reply) => {
      const { name, description, permissions } = request.body;
      await createCustomRole(deps, actorOf(request), name, { description: description ?? '', permissions });
      return reply.code(201).send(await view(name));
    },
  );

  typed.get('/v1/admin/roles/:name', { config: read, schema: { summary: 'Read a role', tags, security, params: RoleParams, response: responses({ 200: Role }) } }, async (request) =>
    view(request.params.name),
  );

  typed.put(
    '/v1/admin/roles/:name',
    { config: write, schema: { summary: 'Replace a custom role\'s permissions', tags, security, params: RoleParams, body: ReplaceRoleBody, response: responses({ 200: Role }) } },
    async (request) => {
      const { description, permissions } = request.body;
      await replaceCustomRole(deps, actorOf(request), request.params.name, { description: description ?? '', permissions });
      return view(request.params.name);
    },
  );

  typed.delete(
    '/v1/admin/roles/:name',
    { config: write, schema: { summary: 'Delete a custom role', tags, security, params: RoleParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await deleteCustomRole(deps, actorOf(request), request.params.name);
      return reply.code(204).send(null);
    },
  );
  done();
};
