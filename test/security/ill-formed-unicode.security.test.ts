// Ill-formed Unicode: a lone surrogate ("\ud800") is valid JSON and passes every string
// schema, but is no text at all; the encryption of personal data refuses it. Sent in any
// string field it must be refused at the boundary as a 400 naming the field, never reach
// a store as a 500, and never be answered 202 for an account that is then not created.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import { findIllFormed } from '../../src/core/http/well-formed-input.ts';
import { findUserByEmailIndex } from '../../src/features/users/repo.ts';
import { testEngines } from '../helpers/database.ts';
import { startTestApp } from '../helpers/app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { appPerSuite, createSignedIn, createTarget, GENEROUS_LIMITS } from './authz.fixtures.ts';

const LONE = '\ud800';

interface Refusal {
  readonly statusCode: number;
  json<T>(): T;
}

function assertRefused(response: Refusal, field: string): void {
  assert.equal(response.statusCode, 400, `${field}: ${JSON.stringify(response.json())}`);
  const body = response.json<{ code: string; errors: unknown }>();
  assert.equal(body.code, 'invalid_request');
  assert.deepEqual(body.errors, [{ field, rule: 'unicode' }]);
}

for (const engine of testEngines()) {
  describe(`ill-formed Unicode on ${engine.engine}`, () => {
    const suite = appPerSuite(engine);

    it('PATCH /v1/me with a lone surrogate in name is a 400 naming /body/name, and the name is unchanged', async () => {
      const caller = await createSignedIn(suite.test);
      for (const name of [LONE, `Mallory${LONE}`, '\udc00x', `${LONE}${LONE}`]) {
        const response = await suite.test.app.inject({ method: 'PATCH', url: '/v1/me', headers: { authorization: `Bearer ${caller.tokens.access_token}` }, payload: { name } });
        assertRefused(response, '/body/name');
      }
      const me = await suite.test.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${caller.tokens.access_token}` } });
      assert.equal(me.json<{ name: unknown }>().name, null);
    });

    it('a well-formed astral character (a surrogate pair) is still accepted', async () => {
      const caller = await createSignedIn(suite.test);
      const response = await suite.test.app.inject({ method: 'PATCH', url: '/v1/me', headers: { authorization: `Bearer ${caller.tokens.access_token}` }, payload: { name: 'Ada \ud83d\ude00' } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json<{ name: string }>().name, 'Ada \ud83d\ude00');
    });

    it('POST /v1/admin/users with a lone surrogate in name or in a role is a 400, and no account is created', async () => {
      const admin = await createSignedIn(suite.test, { roles: ['admin'] });
      const headers = { authorization: `Bearer ${admin.tokens.access_token}` };
      const email = uniqueEmail('unicode-create');
      const named = await suite.test.app.inject({ method: 'POST', url: '/v1/admin/users', headers, payload: { email, name: `Eve${LONE}` } });
      assertRefused(named, '/body/name');
      const roled = await suite.test.app.inject({ method: 'POST', url: '/v1/admin/users', headers, payload: { email, roles: ['user', `x${LONE}`] } });
      assertRefused(roled, '/body/roles/1');
      assert.equal(await findUserByEmailIndex(suite.test.services.auth.db, suite.test.services.auth.blindIndex.email(email)), null);
    });

    it('PATCH /v1/admin/users/{id} with a lone surrogate in name is a 400', async () => {
      const admin = await createSignedIn(suite.test, { roles: ['admin'] });
      const target = await createTarget(suite.test);
      const response = await suite.test.app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${target.id}`,
        headers: { authorization: `Bearer ${admin.tokens.access_token}` },
        payload: { name: LONE },
      });
      assertRefused(response, '/body/name');
    });

    it('POST /v1/auth/register with a lone surrogate in name is a 400, not a 202 for an account never created', async () => {
      const email = uniqueEmail('unicode-register');
      const response = await suite.test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: strongPassword(), name: `Eve${LONE}` } });
      assertRefused(response, '/body/name');
      await suite.test.settle();
      assert.equal(await findUserByEmailIndex(suite.test.services.auth.db, suite.test.services.auth.blindIndex.email(email)), null);
      assert.equal(suite.test.mails.filter((mail) => mail.to === email).length, 0);
    });

    it('a lone surrogate in an email or a password is refused the same way, never a 5xx', async () => {
      for (const payload of [
        { email: `eve${LONE}@example.test`, password: strongPassword() },
        { email: uniqueEmail('unicode-password'), password: `${strongPassword()}${LONE}` },
      ]) {
        const response = await suite.test.app.inject({ method: 'POST', url: '/v1/auth/register', payload });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json<{ code: string }>().code, 'invalid_request');
      }
    });

    it('a key that is itself ill-formed is refused at its parent, and the key is not echoed', async () => {
      const response = await suite.test.app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        headers: { 'content-type': 'application/json' },
        payload: `{"email":"a@example.test","password":"x","nested":{"\\ud800":1}}`,
      });
      assertRefused(response, '/body/nested');
    });
  });
}

describe('ill-formed Unicode in the query, the path and keys', () => {
  it('finds a lone surrogate anywhere in a query, params or headers object, with an escaped pointer', () => {
    assert.equal(findIllFormed({ query: 'a@example.test', status: ['active', `x${LONE}`] }, '/querystring'), '/querystring/status/1');
    assert.equal(findIllFormed({ id: LONE }, '/params'), '/params/id');
    assert.equal(findIllFormed({ 'a/b~c': { deep: [[[LONE]]] } }, '/body'), '/body/a~1b~0c/deep/0/0/0');
    assert.equal(findIllFormed({ ok: 'fine \ud83d\ude00', n: 1, b: true, z: null }, '/body'), null);
    // The first in document order, whatever the depth of the others; the root itself.
    assert.equal(findIllFormed({ a: { b: ['ok', LONE] }, c: LONE }, '/body'), '/body/a/b/1');
    assert.equal(findIllFormed(LONE, '/body'), '/body');
    assert.equal(findIllFormed({ [LONE]: 1 }, '/body'), '/body');
    assert.equal(findIllFormed({ a: { [`k${LONE}`]: 1 } }, '/body'), '/body/a');
  });

  it('walks a deeply nested body without exhausting the stack', () => {
    let deep: unknown = LONE;
    for (let i = 0; i < 200_000; i += 1) deep = [deep];
    assert.equal(findIllFormed(deep, '/body')?.startsWith('/body/0/0/0'), true);
  });

  it('surrogates percent-encoded (CESU-8) in the path or the query never yield a 5xx over real HTTP', async () => {
    const test = await startTestApp({ listen: true, env: GENEROUS_LIMITS });
    try {
      const { port } = new URL(test.baseURL);
      for (const path of ['/v1/admin/users/%ED%A0%80', '/v1/admin/users?query=%ED%A0%80', '/v1/auth/register?x=%ED%A0%80']) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: Number(port), path, method: 'GET' }, (res) => {
            res.resume();
            res.on('end', () => {
              resolve(res.statusCode ?? 0);
            });
          });
          req.on('error', reject);
          req.end();
        });
        assert.ok(status >= 400 && status < 500, `${path}: ${status}`);
      }
    } finally {
      await test.close();
    }
  });
});
