// Maintenance mode is enforced where every session is opened (openSession), not only in
// the password login: a passwordless passkey login by a user is refused while it is on,
// and an admin's (a passkey with user verification is two factors) is let in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { createUser, signIn } from '../../../test/security/authz.fixtures.ts';
import { newDevice, passkeyAccount, passkeyAppPerSuite, passwordless, registerOver } from '../passkeys/passkey-routes.fixtures.ts';
import { setIncidentSwitch } from './switches.ts';

const operator = { actor: { type: 'system' as const, id: 'test' }, context: { ip: null, userAgent: null, requestId: null } };

for (const engine of testEngines()) {
  describe(`maintenance mode and passkey sign-in (${engine.engine})`, { timeout: 120_000 }, () => {
    const suite = passkeyAppPerSuite(engine, { MFA_REQUIRED_ROLES: 'none' });

    it('a user\'s passwordless passkey login during maintenance opens no session; an admin\'s does', async () => {
      const user = await passkeyAccount(suite);
      const admin = await createUser(suite.test, { roles: ['admin'], label: 'admin' });
      const adminDevice = newDevice();
      const registered = await registerOver(suite, (await signIn(suite.test, admin)).access_token, adminDevice);
      assert.equal(registered.status, 201, registered.body);
      const sessionsOf = async (userId: string): Promise<number> =>
        Number((await suite.test.database.db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('count')).where('user_id', '=', userId).executeTakeFirstOrThrow()).count);
      const before = await sessionsOf(user.id);

      await setIncidentSwitch(suite.test.services.auth, operator, 'maintenance', true);
      try {
        const refused = await passwordless(suite, user.device);
        assert.equal(refused.status, 503, refused.body);
        assert.equal(refused.code, 'maintenance_mode');
        assert.equal(await sessionsOf(user.id), before, 'no session was opened');
        const allowed = await passwordless(suite, adminDevice);
        assert.equal(allowed.status, 200, allowed.body);
      } finally {
        await setIncidentSwitch(suite.test.services.auth, operator, 'maintenance', false);
      }
      assert.equal((await passwordless(suite, user.device)).status, 200, 'after maintenance the user signs in again');
    });
  });
}
