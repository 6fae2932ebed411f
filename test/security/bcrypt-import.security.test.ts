// Accounts imported from the legacy system with bcrypt hashes: they log in, move to
// Argon2id at that login, refuse wrong passwords, and a tampered hash cannot stall the
// server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { insertUser } from '../../src/features/users/repo.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { logIn, problemCode } from './security.fixtures.ts';

for (const engine of testEngines()) {
  describe(`imported bcrypt accounts on ${engine.engine}`, () => {
    let app: EngineApp;
    before(async () => {
      app = await startEngineApp(engine);
    });
    after(() => app.close());

    async function importUser(email: string, passwordHash: string): Promise<string> {
      const id = await insertUser(
        app.database.db,
        { keyring: app.keyring, blindIndex: app.services.auth.blindIndex },
        { email, name: null, passwordHash, emailVerified: true, now: new Date() },
      );
      assert.ok(id !== null);
      return id;
    }

    async function storedHash(id: string): Promise<string | null> {
      const row = await app.database.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
      return row.password_hash;
    }

    it('an imported bcrypt account logs in and its hash is replaced by Argon2id at once', async () => {
      const email = uniqueEmail('legacy');
      const password = strongPassword();
      const legacy = await bcrypt.hash(password, 10);
      const id = await importUser(email, legacy);
      await logIn(app, email, password);
      const upgraded = await storedHash(id);
      assert.match(upgraded ?? '', /^\$argon2id\$v=19\$/);
      // The new hash is the one in use: the same password logs in against it.
      await logIn(app, email, password);
      assert.equal(await storedHash(id), upgraded, 'no further rehash once current');
    });

    it('a wrong password against an imported bcrypt hash is refused, and the hash is left alone', async () => {
      const email = uniqueEmail('legacy');
      const password = strongPassword();
      const legacy = await bcrypt.hash(password, 10);
      const id = await importUser(email, legacy);
      for (const guess of ['not the password', password.toUpperCase(), `${password} `, password.slice(0, -1)]) {
        const response = await app.client.request('POST', '/v1/auth/login', { body: { email, password: guess } });
        assert.equal(response.status, 401, response.text);
        assert.equal(problemCode(response), 'invalid_credentials');
      }
      assert.equal(await storedHash(id), legacy);
    });

    it('a tampered bcrypt hash asking for cost 31 cannot stall the server', { timeout: 20_000 }, async () => {
      const email = uniqueEmail('legacy');
      const password = strongPassword();
      const genuine = await bcrypt.hash(password, 4);
      const id = await importUser(email, genuine.replace(/^\$2b\$04\$/, '$2b$31$'));
      const started = performance.now();
      const response = await app.client.request('POST', '/v1/auth/login', { body: { email, password } });
      assert.equal(response.status, 401);
      assert.ok(performance.now() - started < 5_000, 'refused before computing 2^31 rounds');
      assert.match((await storedHash(id)) ?? '', /^\$2b\$31\$/);
    });
  });
}
