// Shared by the passkeys tests: an account, a service on a movable clock, and a
// software authenticator at the server's origin.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSoftwareAuthenticator, type SoftwareAuthenticator, type SoftwareAuthenticatorOptions } from '../../../test/helpers/software-authenticator.ts';
import { createBlindIndex } from '../../core/crypto/blind-index.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { insertUser } from '../users/index.ts';
import { createPasskeys, type Passkeys } from './index.ts';

export const PUBLIC_URL = 'https://id.example.test';
export const ORIGIN = 'https://id.example.test';

const crypto = { keyring: createKeyring([{ id: 'test', key: randomBytes(32) }]), blindIndex: createBlindIndex(randomBytes(32)) };

export async function newUser(db: DB): Promise<string> {
  const id = await insertUser(db, crypto, { email: `passkey.${randomBytes(6).toString('hex')}@example.test`, name: null, passwordHash: null, emailVerified: true, now: new Date() });
  assert.ok(id !== null);
  return id;
}

export interface TestPasskeys {
  readonly passkeys: Passkeys;
  /** Moves the service's clock forward. */
  readonly advance: (ms: number) => void;
}

export function testPasskeys(db: DB): TestPasskeys {
  let offset = 0;
  const passkeys = createPasskeys({ db, clock: () => new Date(Date.now() + offset), publicURL: PUBLIC_URL });
  return { passkeys, advance: (ms) => { offset += ms; } };
}

export function authenticator(options: Partial<SoftwareAuthenticatorOptions> = {}): SoftwareAuthenticator {
  return createSoftwareAuthenticator({ origin: ORIGIN, ...options });
}

/** A user with one registered passkey on `device`; returns the user id and passkey id. */
export async function enrolled(db: DB, passkeys: Passkeys, device: SoftwareAuthenticator): Promise<{ userId: string; passkeyId: string }> {
  const userId = await newUser(db);
  const options = await passkeys.registrationOptions({ id: userId, name: 'someone@example.test' });
  const result = await passkeys.verifyRegistration(db, { userId, response: device.register(options) });
  assert.ok(result.ok, JSON.stringify(result));
  return { userId, passkeyId: result.passkey.id };
}
