// The API documentation as a reader of /docs sees it: every operation says in a line what
// it does, sits under a tag, and states its access as a JSON object.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';

interface Operation {
  readonly summary?: unknown;
  readonly tags?: unknown;
  readonly 'x-access'?: unknown;
}

describe('the OpenAPI document', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp();
  });
  after(() => test.close());

  async function operations(url: string): Promise<[string, Operation][]> {
    const response = await test.app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, 200);
    const paths = response.json<{ paths: Record<string, Record<string, Operation>> }>().paths;
    return Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]));
  }

  for (const url of ['/docs/json', '/openapi.json']) {
    it(`every operation in ${url} has a one-line summary and a tag`, async () => {
      const found = await operations(url);
      assert.ok(found.length >= 30, `only ${found.length} operations`);
      const missing = found.filter(([, operation]) => typeof operation.summary !== 'string' || !/^\S[^\n]{2,78}$/.test(operation.summary)).map(([name]) => name);
      assert.deepEqual(missing, [], 'operations without a short summary');
      const untagged = found.filter(([, operation]) => !Array.isArray(operation.tags) || operation.tags.length === 0).map(([name]) => name);
      assert.deepEqual(untagged, [], 'operations without a tag');
    });
  }

  it('x-access is a JSON object with one key: {"public":true}, {"authenticated":true} or {"permission":"…"}', async () => {
    const seen = new Set<string>();
    for (const [name, operation] of await operations('/openapi.json')) {
      const access = operation['x-access'];
      assert.ok(typeof access === 'object' && access !== null && !Array.isArray(access), `${name}: ${JSON.stringify(access)}`);
      const entries: [string, unknown][] = Object.entries(access);
      assert.equal(entries.length, 1, name);
      const [key, value] = entries[0] ?? assert.fail(name);
      if (key === 'permission') assert.match(String(value), /^[a-z]+:[a-z]+$/, name);
      else assert.ok((key === 'public' || key === 'authenticated') && value === true, `${name}: ${JSON.stringify(access)}`);
      seen.add(key);
    }
    assert.deepEqual([...seen].sort(), ['authenticated', 'permission', 'public']);
  });
});
