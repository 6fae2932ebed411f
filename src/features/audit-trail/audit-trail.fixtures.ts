// Accounts with roles, signed in over HTTP, for the audit trail's route tests.
import assert from 'node:assert/strict';
import type { EngineApp } from '../../../test/helpers/engine-app.ts';
import { strongPassword, uniqueEmail } from '../../../test/helpers/http.ts';
import { meetMfaPolicy } from '../../../test/helpers/mfa.ts';
import { getOrCreateSystemKey } from '../../core/crypto/system-keys.ts';
import type { AuditDeps } from '../../core/audit/types.ts';
import { createAccount } from '../users/create-account.ts';

export interface SignedIn {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly token: string;
  readonly sessionId: string;
}

export async function signIn(app: EngineApp, email: string, password: string): Promise<{ token: string; sessionId: string }> {
  const response = await app.client.request<{ access_token: string; session_id: string }>('POST', '/v1/auth/login', { body: { email, password } });
  assert.equal(response.status, 200, response.text);
  return { token: response.json().access_token, sessionId: response.json().session_id };
}

/** A verified account holding `roles`, created by `actor`, and signed in once. */
export async function signedInAs(app: EngineApp, roles: string[], actor: { type: string; id?: string } = { type: 'system', id: 'test' }): Promise<SignedIn> {
  const email = uniqueEmail(roles[0] ?? 'user');
  const password = strongPassword();
  const created = await createAccount(app.services.auth, { email, name: null, password, roles, emailVerified: true }, {
    actor,
    context: { ip: '198.51.100.9', userAgent: 'admin-console', requestId: null },
  });
  if (created.kind !== 'created') throw new Error(`account not created: ${created.kind}`);
  const session = await signIn(app, email, password);
  // MFA_REQUIRED_ROLES (admin by default): a factor first, in this session.
  await meetMfaPolicy(app, roles, session.token);
  return { id: created.id, email, password, ...session };
}

/** The app's own audit key, as `gatehouse audit prune` would unwrap it. */
export async function auditDepsOf(app: EngineApp): Promise<AuditDeps> {
  return { key: await getOrCreateSystemKey(app.database.db, app.keyring, 'audit-chain'), clock: () => new Date() };
}

export function ndjsonLines(text: string): string[] {
  return text.split('\n');
}
