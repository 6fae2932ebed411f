// Rotating the blind-index key while the app serves, over real HTTP on PGlite and on
// PostgreSQL: every flow that finds an account by its email (login, registration's
// duplicate check, recovery, the admin search) works before the rotation, while it is
// stopped half-way (some rows on the new index, some on the old), and after it, when every
// row is on the new key, the old key is destroyed and the audit chain still verifies.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readBlindIndexState } from '../../src/core/crypto/blind-index-keys.ts';
import { verifyAuditChain } from '../../src/core/audit/verify.ts';
import { findUserByEmail } from '../../src/features/users/repo.ts';
import { rotateBlindIndex, type BlindIndexRotationResult } from '../../src/features/users/blind-index-rotation.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { meetMfaPolicy } from '../helpers/mfa.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../helpers/http.ts';
import { createUser } from '../security/authz.fixtures.ts';
import { logIn, registerVerified, type Tokens } from '../security/security.fixtures.ts';

const SIGNUP_ATTEMPT = /Someone tried to sign up/;
const BATCH = 3;

class StopAfterOneBatch extends Error {}

interface Person {
  readonly email: string;
  password: string;
  id: string;
}

for (const engine of testEngines()) {
  describe(`blind-index key rotation while serving on ${engine.engine}`, () => {
    let app: EngineApp;
    let admin: Tokens;
    const people: Person[] = [];

    before(async () => {
      app = await startEngineApp(engine);
      const account = await createUser(app, { roles: ['admin'], label: 'bi-admin' });
      admin = await logIn(app, account.email, account.password);
      await meetMfaPolicy(app, ['admin'], admin.access_token);
      for (let n = 0; n < 8; n++) people.push(await register(uniqueEmail(`bi-${n}`)));
    });
    after(() => app.close());

    async function register(email: string): Promise<Person> {
      const password = strongPassword();
      await registerVerified(app, email, password);
      const user = await findUserByEmail(app.database.db, app.services.auth.blindIndex, email);
      assert.ok(user !== null);
      return { email, password, id: user.id };
    }

    function rotate(options: { afterBatch?: () => Promise<void> } = {}): Promise<BlindIndexRotationResult> {
      const { db } = app.database;
      return rotateBlindIndex(
        { db, keyring: app.keyring, clock: app.services.auth.clock, change: app.services.auth.change },
        { batchSize: BATCH, graceMs: 0, ...options },
      );
    }

    async function userCount(): Promise<number> {
      const row = await app.database.db.selectFrom('users').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    }

    async function keyOf(id: string): Promise<string> {
      return (await app.database.db.selectFrom('users').select('email_index_key').where('id', '=', id).executeTakeFirstOrThrow()).email_index_key;
    }

    // Registration answers 202 either way; a refused duplicate adds no row and warns the owner.
    async function assertDuplicateRefused(person: Person): Promise<void> {
      const before = await userCount();
      const warned = app.mails.filter((mail) => mail.to === person.email && SIGNUP_ATTEMPT.test(mail.subject)).length;
      const response = await app.client.request('POST', '/v1/auth/register', { body: { email: person.email.toUpperCase(), password: strongPassword() } });
      assert.equal(response.status, 202, response.text);
      await app.settle();
      assert.equal(await userCount(), before, `a second account for ${person.email}`);
      assert.equal(app.mails.filter((mail) => mail.to === person.email && SIGNUP_ATTEMPT.test(mail.subject)).length, warned + 1);
    }

    async function assertRecovers(person: Person): Promise<void> {
      assert.equal((await app.client.request('POST', '/v1/auth/password/forgot', { body: { email: person.email } })).status, 202);
      await app.settle();
      const token = tokenFromMail(app.mails, person.email, /Reset your password/);
      person.password = strongPassword();
      const reset = await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: person.password } });
      assert.equal(reset.status, 204, reset.text);
      await logIn(app, person.email, person.password);
    }

    async function assertAdminFinds(person: Person): Promise<void> {
      const search = await app.client.request<{ users: { id: string }[] }>('GET', `/v1/admin/users?query=${encodeURIComponent(person.email)}`, { token: admin.access_token });
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(search.json().users.map((user) => user.id), [person.id]);
    }

    it('before: login, a refused duplicate registration, recovery and the admin search', async () => {
      const [first, second] = people;
      assert.ok(first !== undefined && second !== undefined);
      await logIn(app, first.email, first.password);
      await assertDuplicateRefused(first);
      await assertRecovers(second);
      await assertAdminFinds(first);
      assert.equal(await keyOf(first.id), 'blind-index');
    });

    it('during: stopped after one batch, moved and unmoved users both log in, a duplicate of either is refused, a new user is written under the new key', async () => {
      await assert.rejects(rotate({ afterBatch: () => Promise.reject(new StopAfterOneBatch()) }), StopAfterOneBatch);
      await app.services.blindIndex.reload();
      const state = await readBlindIndexState(app.database.db);
      assert.equal(state.phase, 'moving');
      assert.equal(state.previousKeyId, 'blind-index');
      assert.equal(state.currentKeyId, 'blind-index:2');
      assert.equal(state.moved, BATCH);
      const keys = await Promise.all(people.map((person) => keyOf(person.id)));
      const moved = people.filter((_, n) => keys[n] === 'blind-index:2');
      const unmoved = people.filter((_, n) => keys[n] === 'blind-index');
      assert.ok(moved.length > 0 && unmoved.length > 0, `moved ${moved.length}, unmoved ${unmoved.length}`);
      const [movedOne] = moved;
      const [unmovedOne, unmovedTwo] = unmoved;
      assert.ok(movedOne !== undefined && unmovedOne !== undefined && unmovedTwo !== undefined);

      await logIn(app, movedOne.email, movedOne.password);
      await logIn(app, unmovedOne.email, unmovedOne.password);
      await assertDuplicateRefused(unmovedOne);
      await assertDuplicateRefused(movedOne);
      await assertAdminFinds(unmovedOne);
      await assertAdminFinds(movedOne);
      await assertRecovers(unmovedTwo);

      const fresh = await register(uniqueEmail('bi-during'));
      assert.equal(await keyOf(fresh.id), 'blind-index:2');
      people.push(fresh);
      await logIn(app, fresh.email, fresh.password);
      await assertDuplicateRefused(fresh);
    });

    it('after: resumed to the end, every row is on the new key, the old key is gone, everything works and the audit chain verifies', async () => {
      const result = await rotate();
      assert.equal(result.started, false, 'the second run continues the move');
      assert.equal(result.oldKeyId, 'blind-index');
      assert.equal(result.newKeyId, 'blind-index:2');
      await app.services.blindIndex.reload();
      const state = await readBlindIndexState(app.database.db);
      assert.equal(state.phase, 'done');
      assert.equal(state.previousKeyId, null);
      const rows = await app.database.db.selectFrom('users').select('email_index_key').execute();
      assert.ok(rows.length >= people.length);
      assert.ok(rows.every((row) => row.email_index_key === 'blind-index:2'));
      assert.equal(result.movedTotal, rows.length - 1, 'every row but the one registered during the move was moved');
      const keys = await app.database.db.selectFrom('system_keys').select('id').where('purpose', '=', 'blind-index').execute();
      assert.deepEqual(keys.map((key) => key.id), ['blind-index:2']);
      assert.deepEqual(app.services.auth.blindIndex.emailCandidates('x@example.test').length, 1);

      for (const person of people) await logIn(app, person.email, person.password);
      const [first, second] = people;
      assert.ok(first !== undefined && second !== undefined);
      await assertDuplicateRefused(first);
      await assertRecovers(second);
      await assertAdminFinds(first);

      const audit = await app.database.db
        .selectFrom('audit_events')
        .select(['action', 'details'])
        .where('action', 'like', 'keys.blind_index_rotation_%')
        .orderBy('seq')
        .execute();
      assert.deepEqual(audit.map((record) => record.action), ['keys.blind_index_rotation_started', 'keys.blind_index_rotation_moving', 'keys.blind_index_rotation_finished']);
      assert.equal(audit[2]?.details['users_moved'], rows.length - 1);
      const verified = await verifyAuditChain(app.database.db, app.services.auditKeys);
      assert.equal(verified.ok, true, JSON.stringify(verified));
    });

    it('a second rotation moves everything to a third key and destroys the second', async () => {
      const result = await rotate();
      assert.equal(result.started, true);
      assert.equal(result.newKeyId, 'blind-index:3');
      await app.services.blindIndex.reload();
      const keys = await app.database.db.selectFrom('system_keys').select('id').where('purpose', '=', 'blind-index').execute();
      assert.deepEqual(keys.map((key) => key.id), ['blind-index:3']);
      for (const person of people) await logIn(app, person.email, person.password);
    });
  });
}
