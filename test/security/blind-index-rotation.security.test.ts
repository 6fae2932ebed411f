// Attacks on the blind-index key rotation, on PGlite and on PostgreSQL: a password guesser
// must not get a fresh lockout budget (or two budgets) because the account's index moves
// to the new key, and nobody may get a second account for one address while rows move,
// whether their registration races the re-index or lands on an instance that has not
// reloaded the rotation state yet.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readBlindIndexState } from '../../src/core/crypto/blind-index-keys.ts';
import { rotateBlindIndex, startBlindIndexRotation, type BlindIndexRotationDeps } from '../../src/features/users/blind-index-rotation.ts';
import { insertUser } from '../../src/features/users/repo.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testEngines } from '../helpers/database.ts';
import { strongPassword, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { createTarget, createUser, type Account } from './authz.fixtures.ts';
import { startAppOn } from './security.fixtures.ts';
import type { EngineApp } from '../helpers/engine-app.ts';

const THRESHOLD = 3;
const DURATION = 300;

for (const engine of testEngines()) {
  describe(`blind-index rotation attacks on ${engine.engine}`, () => {
    let test: Awaited<ReturnType<typeof engine.open>>;
    let app: EngineApp;

    before(async () => {
      test = await engine.open();
      app = await startAppOn(test, { env: { LOCKOUT_THRESHOLD: String(THRESHOLD), LOCKOUT_DURATION: String(DURATION) } });
    });
    after(async () => {
      await app.close();
      await test.cleanup();
    });

    const deps = (on: TestApp = app): BlindIndexRotationDeps => ({
      db: on.database.db,
      keyring: on.keyring,
      clock: on.services.auth.clock,
      change: on.services.auth.change,
    });
    const finishRotation = async (): Promise<void> => {
      await rotateBlindIndex(deps(), { batchSize: 50, graceMs: 0 });
      await app.services.blindIndex.reload();
    };
    const startRotation = async (): Promise<void> => {
      await startBlindIndexRotation(deps());
      await app.services.blindIndex.reload();
    };
    const login = (email: string, password: string): Promise<JSONResponse> =>
      app.client.request('POST', '/v1/auth/login', { body: { email, password } });

    async function failTimes(email: string, times: number): Promise<void> {
      for (let attempt = 0; attempt < times; attempt++) {
        const response = await login(email, 'not the password at all');
        assert.equal(response.status, 401, `attempt ${attempt + 1}: ${response.text}`);
      }
    }

    async function keyOf(id: string): Promise<string> {
      return (await app.database.db.selectFrom('users').select('email_index_key').where('id', '=', id).executeTakeFirstOrThrow()).email_index_key;
    }

    it('guesses made before the move still count after the account moved to the new key: no fresh budget', async () => {
      const victim: Account = await createUser(app, { label: 'bi-lock-carry' });
      await failTimes(victim.email, THRESHOLD - 1);
      await finishRotation();
      assert.notEqual(await keyOf(victim.id), 'blind-index', 'the account moved');
      await failTimes(victim.email, 1);
      const locked = await login(victim.email, victim.password);
      assert.equal(locked.status, 429, `the threshold was reached across the move: ${locked.text}`);
    });

    it('during the move, guesses count under both indexes: an unmoved account locks at the threshold, and stays locked once moved', async () => {
      const victim = await createUser(app, { label: 'bi-lock-during' });
      const before = await keyOf(victim.id);
      await startRotation();
      assert.equal(await keyOf(victim.id), before, 'not moved yet');
      await failTimes(victim.email, THRESHOLD);
      assert.equal((await login(victim.email, victim.password)).status, 429);
      await finishRotation();
      assert.notEqual(await keyOf(victim.id), before, 'moved');
      const still = await login(victim.email, victim.password);
      assert.equal(still.status, 429, `the lock moved with the account: ${still.text}`);
    });

    it('failures split across the start of a move add up: the budget is never doubled', async () => {
      const victim = await createUser(app, { label: 'bi-lock-split' });
      await failTimes(victim.email, THRESHOLD - 1);
      await startRotation();
      await failTimes(victim.email, 1);
      assert.equal((await login(victim.email, victim.password)).status, 429);
      await finishRotation();
    });

    it('registrations racing the re-index never create a second account for an address', async () => {
      const targets = [];
      for (let n = 0; n < 24; n++) targets.push(await createTarget(app, `bi-race-${n}`));
      const count = async (): Promise<number> =>
        Number((await app.database.db.selectFrom('users').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow()).n);
      const users = await count();
      await startRotation();
      const auth = app.services.auth;
      const register = (email: string): Promise<string | null> =>
        app.services.auth.change({ ip: null, userAgent: null, requestId: null }, ({ trx }) =>
          insertUser(trx, auth, { email: email.toUpperCase(), name: null, passwordHash: null, emailVerified: false, now: new Date() }),
        );
      // Batches of 2 while the same addresses are registered again, in parallel.
      const [moved, ...attempts] = await Promise.all([
        rotateBlindIndex(deps(), { batchSize: 2, graceMs: 0 }),
        ...targets.map((target) => register(target.email)),
        ...targets.map((target) => register(target.email)),
      ]);
      assert.ok(moved.movedNow >= targets.length);
      assert.deepEqual(attempts.filter((id) => id !== null), [], 'no second account');
      assert.equal(await count(), users);
      await app.services.blindIndex.reload();
    });

    it('an instance that has not reloaded the rotation state still writes under the new key and refuses a moved address', async () => {
      // A second instance, loaded before the rotation and never told about it.
      const stale = await startTestApp({ database: test.database });
      try {
        const moved = await createTarget(app, 'bi-stale-moved');
        const { state } = await startBlindIndexRotation(deps());
        await rotateBlindIndex(deps(), { batchSize: 100, graceMs: 0, afterBatch: () => Promise.reject(new Error('stopped')) }).catch(() => undefined);
        assert.equal(await keyOf(moved.id), state.currentKeyId);
        const auth = stale.services.auth;
        assert.notEqual(auth.blindIndex.keyId, state.currentKeyId, 'the instance is stale');
        const insert = (email: string): Promise<string | null> =>
          auth.change({ ip: null, userAgent: null, requestId: null }, ({ trx }) => insertUser(trx, auth, { email, name: null, passwordHash: null, emailVerified: false, now: new Date() }));
        assert.equal(await insert(moved.email), null, 'a second account for a moved address');
        const fresh = await insert(uniqueEmail('bi-stale-new'));
        assert.ok(fresh !== null);
        assert.equal(await keyOf(fresh), state.currentKeyId);
        await finishRotation();
        assert.equal((await readBlindIndexState(app.database.db)).phase, 'done');
      } finally {
        await stale.close();
      }
    });

    it('a strong password is no help against a locked account during the move either', async () => {
      const email = uniqueEmail('bi-unknown');
      await startRotation();
      // An address without an account is counted the same way as one with.
      for (let attempt = 0; attempt < THRESHOLD; attempt++) assert.equal((await login(email, strongPassword())).status, 401);
      assert.equal((await login(email, strongPassword())).status, 429);
      await finishRotation();
    });
  });
}
