// A password reset checks the new password against the policy inside the transaction that
// spends the token (so a refused password does not spend it). On first use the policy's
// dictionaries come from a child process; if the reset waited for it inside the
// transaction, a slow or stuck builder would hold the transaction open, and on PGlite
// (one connection) every other request with it. The builder is made slow here by
// starting a stand-in that waits before running the real one.
import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const BUILDER_DELAY_MS = 2_500;
const directory = await mkdtemp(join(tmpdir(), 'gh-slow-builder-'));
after(() => rm(directory, { recursive: true, force: true }));
const slowBuilder = join(directory, 'slow-builder.mjs');
const realBuilder = new URL('../../core/password/dictionary-builder.ts', import.meta.url).href;
await writeFile(slowBuilder, `await new Promise((resolve) => setTimeout(resolve, ${BUILDER_DELAY_MS}));\nawait import(${JSON.stringify(realBuilder)});\n`);
// Before anything imports guessability.ts: every spawn of the builder starts the stand-in.
const realSpawn = childProcess.spawn;
const builders: string[] = [];
const redirected = ((command: string, args: readonly string[], options: childProcess.SpawnOptions) => {
  if (args.length === 1 && args[0]?.endsWith('dictionary-builder.ts') === true) {
    builders.push(args[0]);
    return realSpawn(command, [slowBuilder], options);
  }
  return realSpawn(command, [...args], options);
}) as typeof childProcess.spawn;
childProcess.spawn = redirected;
syncBuiltinESMExports();

const { startTestApp } = await import('../../../test/helpers/app.ts');
const { createAccount } = await import('../users/create-account.ts');
const { issueOneTimeToken } = await import('../auth/one-time-tokens.ts');

describe('password reset against a slow dictionary builder', { timeout: 60_000 }, () => {
  it('the reset does not hold its transaction while the dictionaries load: other queries answer meanwhile', async () => {
    const test = await startTestApp();
    after(() => test.close());
    const created = await createAccount(test.services.auth, { email: 'slow-builder@example.com', name: null, password: null, roles: [], emailVerified: true }, { actor: { type: 'system', id: 'test' }, context: { ip: null, userAgent: 'test', requestId: null } });
    assert.ok(created.kind === 'created', created.kind);
    const token = await issueOneTimeToken(test.database.db, 'password_reset', created.id, new Date());
    const started = performance.now();
    const reset = test.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'crimson kites over quiet harbors 91' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const queryStarted = performance.now();
    await test.database.db.selectFrom('users').select('id').limit(1).execute();
    const queryMs = performance.now() - queryStarted;
    const response = await reset;
    const resetMs = performance.now() - started;
    assert.equal(response.statusCode, 204, response.body);
    assert.equal(builders.length, 1, 'the stand-in builder ran');
    // The reset itself waited for the builder: the query ran while it was loading.
    assert.ok(resetMs > BUILDER_DELAY_MS, `reset took ${resetMs.toFixed(0)} ms`);
    assert.ok(queryMs < 1_000, `a query waited ${queryMs.toFixed(0)} ms behind the reset`);
  });
});
