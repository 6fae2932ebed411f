// Broken access control: a route that forgets its check, checks the wrong permission, or
// trusts the caller's token over current state. The matrix is built from the OpenAPI
// document (each operation carries the access its route declares, `x-access`), so a route
// added later is covered without editing this file: every non-public operation answers
// 401 without a token, 403 to a caller holding every permission but the one it needs,
// and serves a caller holding just that permission. A route the matrix cannot classify
// fails it, and a route declaring nothing (or an unknown permission) fails start-up.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { enrolTotp } from '../helpers/mfa.ts';
import { Type } from 'typebox';
import { responses } from '../../src/core/http/problem.ts';
import { RoutePolicyError } from '../../src/core/http/route-policy.ts';
import { PERMISSIONS } from '../../src/features/authorization/permissions.ts';
import type { App } from '../../src/app.ts';
import { isWebAppRoute } from '../../src/web/paths.ts';
import { WEB_ROOT, webDist } from '../../src/web/source-hash.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testEngines } from '../helpers/database.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { appPerSuite, call, createCustomRole, createSignedIn, createTarget, signIn, type SignedIn } from './authz.fixtures.ts';

type Access = 'public' | 'authenticated' | { permission: string };

interface Operation {
  readonly method: string;
  /** OpenAPI template, e.g. `/v1/admin/users/{id}`. */
  readonly path: string;
  readonly access: Access;
  readonly documentedSecurity: unknown;
  readonly hasBody: boolean;
  readonly params: readonly { name: string; format: string | undefined }[];
}

interface OpenAPIOperation {
  'x-access'?: unknown;
  security?: unknown;
  requestBody?: unknown;
  parameters?: { in: string; name: string; schema?: { format?: string } }[];
}

/** `x-access` is a JSON object with exactly one key: {"public":true}, {"authenticated":true} or {"permission":"…"}. */
function parseAccess(value: unknown, where: string): Access {
  const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length === 1 && keys[0] === 'public' && (value as { public: unknown }).public === true) return 'public';
  if (keys.length === 1 && keys[0] === 'authenticated' && (value as { authenticated: unknown }).authenticated === true) return 'authenticated';
  if (keys.length === 1 && keys[0] === 'permission') {
    const permission = (value as { permission: unknown }).permission;
    assert.ok(typeof permission === 'string' && (PERMISSIONS as readonly string[]).includes(permission), `${where}: unknown permission ${String(permission)}`);
    return { permission };
  }
  assert.fail(`${where}: cannot classify access ${JSON.stringify(value)}`);
}

async function documentedOperations(app: App): Promise<Operation[]> {
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(response.statusCode, 200);
  const paths = response.json<{ paths: Record<string, Record<string, OpenAPIOperation>> }>().paths;
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const where = `${method.toUpperCase()} ${path}`;
      operations.push({
        method: method.toUpperCase(),
        path,
        access: parseAccess(operation['x-access'], where),
        documentedSecurity: operation.security,
        hasBody: operation.requestBody !== undefined,
        params: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => ({ name: p.name, format: p.schema?.format })),
      });
    }
  }
  return operations;
}

/**
 * Every route the router holds (printRoutes is the only listing Fastify offers), as OpenAPI
 * paths. The full radix tree (commonPrefix on): with it off, a wildcard route loses its
 * static prefix in the listing (`/assets/*` prints as `*`).
 */
function registeredRoutes(app: App): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    // `│   ├── /segment (GET, HEAD)`: four columns per level of nesting.
    const marker = line.search(/[├└]── /);
    if (marker < 0) continue;
    const depth = marker / 4;
    const rest = line.slice(marker + 4);
    const open = rest.lastIndexOf(' (');
    const hasMethods = open >= 0 && rest.endsWith(')');
    const label = hasMethods ? rest.slice(0, open) : rest;
    // The tree's root when routes do not all start with `/` (the CORS preflight's `*`).
    const path = (stack[depth - 1] ?? '') + (label === '(empty root node)' ? '' : label);
    stack.length = depth;
    stack.push(path);
    if (!hasMethods) continue;
    for (const method of rest.slice(open + 2, -1).split(', ')) {
      routes.push({ method, path: path.replace(/:(\w+)/g, '{$1}') });
    }
  }
  return routes;
}

// What the API promises for the routes that exist today: the matrix must at least cover
// these (so it cannot pass vacuously), with exactly these declarations (so a route cannot
// quietly be weakened to a lesser permission).
const EXPECTED: Record<string, Access> = {
  'POST /v1/auth/logout': 'authenticated',
  'GET /v1/me': 'authenticated',
  'PATCH /v1/me': 'authenticated',
  'POST /v1/me/password': 'authenticated',
  'GET /v1/me/sessions': 'authenticated',
  'DELETE /v1/me/sessions': 'authenticated',
  'DELETE /v1/me/sessions/{id}': 'authenticated',
  'GET /v1/admin/users': { permission: 'users:read' },
  'POST /v1/admin/users': { permission: 'users:write' },
  'GET /v1/admin/users/{id}': { permission: 'users:read' },
  'PATCH /v1/admin/users/{id}': { permission: 'users:write' },
  'DELETE /v1/admin/users/{id}': { permission: 'users:delete' },
  'PUT /v1/admin/users/{id}/roles/{role}': { permission: 'roles:assign' },
  'DELETE /v1/admin/users/{id}/roles/{role}': { permission: 'roles:assign' },
  'POST /v1/admin/users/{id}/unlock': { permission: 'users:lock' },
  'POST /v1/admin/users/{id}/sessions/revoke': { permission: 'sessions:revoke' },
  'POST /v1/admin/users/{id}/password-reset': { permission: 'users:write' },
  'GET /v1/admin/roles': { permission: 'roles:read' },
  'POST /v1/admin/roles': { permission: 'roles:write' },
  'GET /v1/admin/roles/{name}': { permission: 'roles:read' },
  'PUT /v1/admin/roles/{name}': { permission: 'roles:write' },
  'DELETE /v1/admin/roles/{name}': { permission: 'roles:write' },
  'GET /v1/me/events': 'authenticated',
  'GET /v1/admin/audit': { permission: 'audit:read' },
  'GET /v1/admin/audit/export': { permission: 'audit:read' },
  'GET /v1/admin/audit/verify': { permission: 'audit:read' },
  'DELETE /v1/admin/users/{id}/mfa': { permission: 'users:write' },
  'POST /v1/auth/mfa': 'public',
  'POST /v1/auth/reauthenticate': 'authenticated',
  'POST /v1/auth/reauthenticate/passkey-options': 'authenticated',
  'POST /v1/auth/passkey/options': 'public',
  'POST /v1/auth/passkey': 'public',
  'GET /v1/me/mfa': 'authenticated',
  'POST /v1/me/mfa/totp': 'authenticated',
  'POST /v1/me/mfa/totp/confirm': 'authenticated',
  'DELETE /v1/me/mfa/totp': 'authenticated',
  'POST /v1/me/mfa/recovery-codes': 'authenticated',
  'POST /v1/me/passkeys/options': 'authenticated',
  'POST /v1/me/passkeys': 'authenticated',
  'GET /v1/me/passkeys': 'authenticated',
  'PATCH /v1/me/passkeys/{id}': 'authenticated',
  'DELETE /v1/me/passkeys/{id}': 'authenticated',
  'POST /v1/me/files': 'authenticated',
  'GET /v1/me/files': 'authenticated',
  'GET /v1/me/files/{id}': 'authenticated',
  'DELETE /v1/me/files/{id}': 'authenticated',
  'PUT /v1/me/avatar': 'authenticated',
  'GET /v1/me/avatar': 'authenticated',
  'GET /v1/admin/users/{id}/files': { permission: 'users:read' },
  'GET /v1/admin/users/{id}/files/{fileId}': { permission: 'users:read' },
};

// Operations on state a fresh user does not have (a second factor to remove or back up, an avatar):
// like a made-up id, they must pass authorization and not fail on the server.
const NEEDS_STATE = new Set(['DELETE /v1/me/mfa/totp', 'POST /v1/me/mfa/recovery-codes', 'GET /v1/me/avatar']);

// Routes kept out of the document on purpose: the document itself, the docs page, and the
// browser app's pages and files (src/web/paths.ts: public, GET only, serving files).
function isHiddenPublicRoute(path: string): boolean {
  return path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/') || isWebAppRoute(path);
}

const key = (operation: { method: string; path: string }): string => `${operation.method} ${operation.path}`;
const permissionOf = (operation: Operation): string | null => (typeof operation.access === 'object' ? operation.access.permission : null);

/** Fresh objects for one call, so a destructive route never spoils the next. */
interface Fixture {
  readonly targetUserId: string;
  readonly customRole: string;
  readonly ownSessionId: string | null;
}

/** The URL with real ids where the matrix knows the parameter; `synthetic` when it had to make one up. */
function fill(operation: Operation, fixture: Fixture): { url: string; synthetic: boolean } {
  let synthetic = NEEDS_STATE.has(`${operation.method} ${operation.path}`);
  const url = operation.path.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const param = operation.params.find((p) => p.name === name);
    if (operation.path.startsWith('/v1/admin/users/') && name === 'id') return fixture.targetUserId;
    if (operation.path.startsWith('/v1/admin/users/') && name === 'role') return fixture.customRole;
    if (operation.path.startsWith('/v1/admin/roles/') && name === 'name') return fixture.customRole;
    if (operation.path.startsWith('/v1/me/sessions/') && name === 'id' && fixture.ownSessionId !== null) return fixture.ownSessionId;
    // A route added later: a well-formed value that names nothing; the call must still
    // pass authorization and must not fail on the server.
    synthetic = true;
    return param?.format === 'uuid' ? randomUUID() : 'matrix-fixture';
  });
  return { url, synthetic };
}

/** A valid body for the routes that take one today; `{}` (a 400 at worst) for others. */
function bodyFor(operation: Operation, caller: SignedIn): { body: unknown; known: boolean } | undefined {
  if (!operation.hasBody) return undefined;
  switch (key(operation)) {
    case 'PATCH /v1/me':
      return { body: { name: 'Matrix' }, known: true };
    case 'POST /v1/me/password':
      return { body: { current_password: caller.password, new_password: strongPassword() }, known: true };
    case 'POST /v1/admin/users':
      return { body: { email: uniqueEmail('matrix-new'), password: strongPassword() }, known: true };
    case 'PATCH /v1/admin/users/{id}':
      return { body: { name: 'Matrix' }, known: true };
    case 'POST /v1/admin/roles':
      return { body: { name: `matrix-${randomUUID().slice(0, 8)}`, permissions: [] }, known: true };
    case 'PUT /v1/admin/roles/{name}':
      return { body: { description: 'changed', permissions: [] }, known: true };
    default:
      return { body: {}, known: false };
  }
}

for (const engine of testEngines()) {
  describe(`authorization matrix on ${engine.engine}`, () => {
    // With the browser app's routes, as `gatehouse serve` has them.
    const suite = appPerSuite(engine, { webApp: { dist: webDist(WEB_ROOT) } });
    let test: TestApp;
    let operations: Operation[];
    // Per permission: one caller holding only it, one holding every other permission.
    const holders = new Map<string, SignedIn>();
    const lackers = new Map<string, SignedIn>();

    before(async () => {
      test = suite.test;
      operations = await documentedOperations(test.app);
      for (const permission of PERMISSIONS) {
        const holder = await createSignedIn(test, { roles: [await createCustomRole(test, [permission], 'only')], label: 'holder' });
        // A second-factor session, for the operations that need one (`x-mfa-session`).
        await enrolTotp(test, holder.tokens.access_token);
        holders.set(permission, holder);
        const others = PERMISSIONS.filter((p) => p !== permission);
        lackers.set(permission, await createSignedIn(test, { roles: [await createCustomRole(test, others, 'allbut')], label: 'lacker' }));
      }
    });

    async function freshFixture(caller: SignedIn | null): Promise<Fixture> {
      const target = await createTarget(test);
      const customRole = await createCustomRole(test, [], 'empty');
      // A second session of the caller's own, for routes that act on one.
      const ownSessionId = caller === null ? null : (await signIn(test, caller)).session_id;
      return { targetUserId: target.id, customRole, ownSessionId };
    }

    it('classifies every documented operation and covers at least the routes the API promises', () => {
      const byKey = new Map(operations.map((operation) => [key(operation), operation]));
      for (const [expected, access] of Object.entries(EXPECTED)) {
        const operation = byKey.get(expected);
        assert.ok(operation !== undefined, `${expected} is missing from the OpenAPI document`);
        assert.deepEqual(operation.access, access, `${expected} declares ${JSON.stringify(operation.access)}`);
      }
      for (const operation of operations) {
        // The document must tell clients which calls need a token, and only those.
        const documented = JSON.stringify(operation.documentedSecurity ?? null);
        if (operation.access === 'public') assert.equal(documented, 'null', `${key(operation)} is public but documents security`);
        else assert.equal(documented, JSON.stringify([{ bearer: [] }]), `${key(operation)} needs a token but does not document it`);
      }
      const permissionRoutes = operations.filter((operation) => permissionOf(operation) !== null);
      assert.ok(permissionRoutes.length >= 15, `only ${permissionRoutes.length} permission routes`);
    });

    it("every registered route is in the document, except the document, the docs page and the browser app's pages", async () => {
      const documented = new Set(operations.map(key));
      const routes = registeredRoutes(test.app);
      assert.ok(routes.length > operations.length, 'the router listing was parsed');
      for (const route of routes) {
        if (route.method === 'OPTIONS' || route.method === 'HEAD') continue; // CORS preflight; HEAD mirrors GET (checked below)
        if (documented.has(key(route))) continue;
        assert.ok(isHiddenPublicRoute(route.path), `${key(route)} is registered but not documented: the matrix cannot check it`);
        // The app's pages and files are read-only: a state-changing route there would escape the matrix.
        if (isWebAppRoute(route.path)) assert.equal(route.method, 'GET', `${key(route)}: the browser app's routes serve files only`);
      }
      for (const page of ['GET /login', 'GET /account/*', 'GET /assets/*']) {
        assert.ok(routes.some((route) => key(route) === page), `${page}: the browser app's routes are listed in this suite`);
      }
      for (const url of ['/openapi.json', '/docs/json']) {
        assert.equal((await call(test, 'GET', url)).status, 200, url);
      }
    });

    it('every non-public operation (and HEAD of each GET) answers 401 without a token or with a forged one', async () => {
      const fixture = await freshFixture(null);
      let checked = 0;
      for (const operation of operations.filter((o) => o.access !== 'public')) {
        const { url } = fill(operation, fixture);
        const methods = operation.method === 'GET' ? ['GET', 'HEAD'] : [operation.method];
        for (const method of methods) {
          for (const token of [undefined, 'not-a-token', `${holders.get('users:read')!.tokens.access_token}x`]) {
            const response = await test.app.inject({
              method: method as 'GET',
              url,
              ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
              ...(operation.hasBody ? { payload: {} } : {}),
            });
            assert.equal(response.statusCode, 401, `${method} ${url} with ${token === undefined ? 'no token' : 'a bad token'}: ${response.body}`);
            assert.equal(response.headers['www-authenticate'], token === undefined ? 'Bearer' : 'Bearer error="invalid_token"');
            checked += 1;
          }
        }
      }
      assert.ok(checked >= 3 * Object.keys(EXPECTED).length);
    });

    it('every permission operation answers 403 to a caller holding every other permission, and to a plain user', async () => {
      const plain = await createSignedIn(test, { label: 'plain' });
      const fixture = await freshFixture(null);
      for (const operation of operations) {
        const permission = permissionOf(operation);
        if (permission === null) continue;
        const { url } = fill(operation, fixture);
        const methods = operation.method === 'GET' ? ['GET', 'HEAD'] : [operation.method];
        for (const method of methods) {
          for (const [who, caller] of [['all but ' + permission, lackers.get(permission)!], ['a plain user', plain]] as const) {
            const body = bodyFor(operation, caller);
            const response = await call(test, method, url, { token: caller.tokens.access_token, ...(body === undefined ? {} : { body: body.body }) });
            assert.equal(response.status, 403, `${method} ${url} as ${who}: ${response.body}`);
            assert.equal(response.headers['www-authenticate'], 'Bearer error="insufficient_scope"', `${method} ${url} as ${who}`);
            if (method !== 'HEAD') assert.equal(response.code, 'forbidden');
          }
        }
      }
      // Nothing was done on the way: the target is untouched.
      const target = await test.services.auth.db.selectFrom('users').select(['status', 'updated_at', 'created_at']).where('id', '=', fixture.targetUserId).executeTakeFirst();
      assert.ok(target !== undefined && target.status === 'active');
      assert.equal(target.updated_at.getTime(), target.created_at.getTime());
    });

    it('every permission operation serves a caller holding just that permission', async () => {
      for (const operation of operations) {
        const permission = permissionOf(operation);
        if (permission === null) continue;
        const caller = holders.get(permission)!;
        const fixture = await freshFixture(null);
        const { url, synthetic } = fill(operation, fixture);
        const body = bodyFor(operation, caller);
        const response = await call(test, operation.method, url, { token: caller.tokens.access_token, ...(body === undefined ? {} : { body: body.body }) });
        const where = `${operation.method} ${url} holding ${permission}: ${response.status} ${response.body}`;
        assert.ok(response.status !== 401 && response.status !== 403 && response.status < 500, where);
        // With real fixtures and a real body, the call must simply work.
        if (!synthetic && (body === undefined || body.known)) assert.ok(response.status >= 200 && response.status < 300, where);
      }
    });

    it('every authenticated operation serves a plain user', async () => {
      for (const operation of operations.filter((o) => o.access === 'authenticated')) {
        // A fresh user each time: logout and a password change end sessions.
        const caller = await createSignedIn(test, { label: 'plain' });
        const fixture = await freshFixture(caller);
        const { url, synthetic } = fill(operation, fixture);
        const body = bodyFor(operation, caller);
        const response = await call(test, operation.method, url, { token: caller.tokens.access_token, ...(body === undefined ? {} : { body: body.body }) });
        const where = `${operation.method} ${url}: ${response.status} ${response.body}`;
        assert.ok(response.status !== 401 && response.status !== 403 && response.status < 500, where);
        if (!synthetic && (body === undefined || body.known)) assert.ok(response.status >= 200 && response.status < 300, where);
      }
    });

    it('refuses to start with a route that declares no access, or an unknown permission', async () => {
      const response = { schema: { response: responses({ 200: Type.Object({}) }) } };
      await assert.rejects(
        startTestApp({ database: suite.database.database, routes: (app) => app.get('/v1/admin/forgotten', response, () => ({})) }),
        (error: unknown) => error instanceof RoutePolicyError && /declares no access/.test(error.message),
      );
      await assert.rejects(
        startTestApp({
          database: suite.database.database,
          routes: (app) => app.get('/v1/admin/misspelt', { ...response, config: { access: { permission: 'users:raed' } } }, () => ({})),
        }),
        (error: unknown) => error instanceof RoutePolicyError && /unknown permission/.test(error.message),
      );
    });
  });
}
