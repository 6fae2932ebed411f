// Health, readiness, the OpenAPI document and the docs page; and the start-up refusal of
// routes that do not declare their access or their responses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { readMigrationFiles } from '../../src/core/db/migrate.ts';
import { responses } from '../../src/core/http/problem.ts';
import { RoutePolicyError } from '../../src/core/http/route-policy.ts';
import { startTestApp } from '../helpers/app.ts';
import { openPGliteClone } from '../helpers/database.ts';

describe('health and documentation routes', () => {
  it('/healthz and /readyz answer ok on a migrated database', async () => {
    const test = await startTestApp();
    try {
      assert.deepEqual((await test.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
      const ready = await test.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200);
    } finally {
      await test.close();
    }
  });

  it('/readyz is 503 while migrations are pending, and says nothing about why', async () => {
    const database = await openPGliteClone();
    const test = await startTestApp({ database });
    // The schema falls behind this build: the newest migration is no longer recorded.
    await database.db.deleteFrom('schema_migrations').where('version', '=', (await readMigrationFiles()).at(-1)!.version).execute();
    try {
      const ready = await test.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json<{ code: string }>().code, 'service_unavailable');
      assert.doesNotMatch(ready.body, /pending|migration/);
    } finally {
      await test.close();
      await database.close();
    }
  });

  it('/readyz is 503 when the database is gone', async () => {
    const database = await openPGliteClone();
    const test = await startTestApp({ database });
    await database.close();
    try {
      const ready = await test.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
    } finally {
      await test.close();
    }
  });

  it('serves an OpenAPI 3.1 document and a docs page with its own strict policy', async () => {
    const test = await startTestApp();
    try {
      const spec = (await test.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ openapi: string; paths: Record<string, unknown> }>();
      assert.equal(spec.openapi, '3.1.0');
      assert.ok('/healthz' in spec.paths && '/readyz' in spec.paths);
      assert.ok(!('/openapi.json' in spec.paths));
      const docs = await test.app.inject({ method: 'GET', url: '/docs/' });
      assert.equal(docs.statusCode, 200);
      assert.match(String(docs.headers['content-type']), /text\/html/);
      const csp = String(docs.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /https:|unsafe-eval/);
    } finally {
      await test.close();
    }
  });

  it('refuses to start with a route that declares no access', async () => {
    await assert.rejects(
      startTestApp({
        routes: (app) => {
          app.get('/v1/forgotten', { schema: { response: responses({ 200: Type.Object({}) }) } }, () => ({}));
        },
      }),
      (error: unknown) => error instanceof RoutePolicyError && /declares no access/.test(error.message),
    );
  });

  it('refuses to start with a route naming a permission outside the catalog', async () => {
    await assert.rejects(
      startTestApp({
        routes: (app) => {
          app.get('/v1/admin/thing', { config: { access: { permission: 'users:reed' } }, schema: { response: responses({ 200: Type.Object({}) }) } }, () => ({}));
        },
      }),
      (error: unknown) => error instanceof RoutePolicyError && /unknown permission/.test(error.message),
    );
  });

  it('refuses to start with a route that declares no response schema', async () => {
    await assert.rejects(
      startTestApp({
        routes: (app) => {
          app.get('/v1/loose', { config: { access: 'public' } }, () => ({ anything: true }));
        },
      }),
      (error: unknown) => error instanceof RoutePolicyError && /no response schema/.test(error.message),
    );
  });
});
