// The browser app's API types (web/src/api/openapi.ts) are generated from the server's
// OpenAPI document; a route whose schema changed without `npm run web:api` fails here, so
// the app never compiles against an API that no longer exists.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { API_TYPES_FILE, currentOpenAPIDocument, renderAPITypes } from '../../scripts/web-api.ts';

describe('the web app API types', () => {
  it('are what the current routes generate (run `npm run web:api` after changing a route)', async () => {
    const committed = await readFile(API_TYPES_FILE, 'utf8');
    const generated = await renderAPITypes(await currentOpenAPIDocument());
    if (committed === generated) return;
    const committedLines = committed.split('\n');
    const generatedLines = generated.split('\n');
    const first = generatedLines.findIndex((line, index) => line !== committedLines[index]);
    assert.fail(`web/src/api/openapi.ts is stale: first difference at line ${first + 1}:\n- ${committedLines[first] ?? '(end)'}\n+ ${generatedLines[first] ?? '(end)'}\nRun \`npm run web:api\`.`);
  });

  it('cover the routes the pages call', async () => {
    const committed = await readFile(API_TYPES_FILE, 'utf8');
    const admin = ['/v1/admin/users', '/v1/admin/users/{id}', '/v1/admin/users/{id}/roles/{role}', '/v1/admin/roles', '/v1/admin/permissions', '/v1/admin/audit', '/v1/admin/audit/verify', '/v1/admin/audit/export', '/v1/auth/reauthenticate'];
    for (const path of ['/v1/auth/login', '/v1/auth/mfa', '/v1/auth/register', '/v1/auth/verify-email', '/v1/auth/password/forgot', '/v1/auth/password/reset', '/v1/me', ...admin]) {
      assert.ok(committed.includes(`"${path}": {`), path);
    }
  });
});
