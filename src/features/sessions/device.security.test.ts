// Where people sign in from is personal data: a session's address and user agent are
// stored sealed under the owner's data key, never in clear, and a sealed value moved to
// another session or opened with another owner's key does not open.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { httpClient, strongPassword, uniqueEmail } from '../../../test/helpers/http.ts';
import { registerVerified } from '../../../test/security/security.fixtures.ts';
import { openDevice, sealDevice } from './device.ts';

describe('session device data at rest', { timeout: 120_000 }, () => {
  let app: TestApp | undefined;
  after(async () => {
    await app?.close();
  });

  it('a sealed value does not open under another session id or another key', () => {
    const dek = randomBytes(32);
    const [a, b] = [randomUUID(), randomUUID()];
    const sealed = sealDevice(dek, a, { ip: '198.51.100.7', userAgent: 'Browser/1.0' });
    assert.deepEqual(openDevice(dek, a, sealed), { ip: '198.51.100.7', userAgent: 'Browser/1.0' });
    assert.throws(() => openDevice(dek, b, sealed), 'moved to another session');
    assert.throws(() => openDevice(randomBytes(32), a, sealed), "another owner's key");
    assert.throws(() => openDevice(dek, a, { ip_sealed: sealed.user_agent_sealed, user_agent_sealed: null }), 'moved to another column');
  });

  it('a login stores the address and user agent sealed, and the owner sees them in clear', async () => {
    app = await startTestApp({ listen: true, env: { AUTH_RATE_LIMIT_MAX: '1000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '1000' } });
    const client = { ...app, client: httpClient(app.baseURL) };
    const user = { email: uniqueEmail('device'), password: strongPassword() };
    await registerVerified(client, user.email, user.password);
    const agent = `DeviceTest/${randomBytes(4).toString('hex')}`;
    const login = await fetch(`${app.baseURL}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': agent }, body: JSON.stringify(user) });
    assert.equal(login.status, 200);
    const tokens = (await login.json()) as { access_token: string; session_id: string };
    const row = await app.database.db.selectFrom('sessions').selectAll().where('id', '=', tokens.session_id).executeTakeFirstOrThrow();
    const stored = JSON.stringify(row);
    assert.ok(row.ip_sealed !== null && row.user_agent_sealed !== null);
    assert.ok(!stored.includes(agent) && !stored.includes('127.0.0.1'), 'nothing in clear in the row');
    const listed = await fetch(`${app.baseURL}/v1/me/sessions`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const sessions = (await listed.json()) as { id: string; ip: string | null; user_agent: string | null }[];
    const mine = sessions.find((session) => session.id === tokens.session_id);
    assert.equal(mine?.user_agent, agent);
    assert.equal(mine.ip, '127.0.0.1');
  });
});
