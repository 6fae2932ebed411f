// Passkeys as the rest of Gatehouse uses them: one factory, its dependencies explicit.
// Functions that write take the transaction first, so a route can put the passkey's
// change and its audit record in one `change` (core/change.ts); option issuance writes
// only a challenge row, on `db`.
//
//   register:      registrationOptions(user) -> browser -> verifyRegistration(trx, ...)
//   second factor: secondFactorOptions(userId) -> browser -> verifySecondFactor(trx, ...)
//   passwordless:  passwordlessOptions() -> browser -> verifyPasswordless(trx, ...)
//
// Every verification answers a result, never throws for client input, and its failure
// reason is for logs and audit only (results.ts). No key material leaves this feature.
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Clock } from '../../core/clock.ts';
import { UUID_PATTERN } from '../../core/crypto/ids.ts';
import type { DB } from '../../core/db/database.ts';
import { createPasswordlessOptions, createSecondFactorOptions, verifyAssertion } from './authentication.ts';
import { purgeExpiredChallenges } from './challenges.ts';
import { normalizePasskeyName } from './passkey-name.ts';
import { createRegistrationOptions, verifyRegistration, type CeremonyDeps, type PasskeyUser } from './registration.ts';
import { relyingPartyFrom, type RelyingParty } from './relying-party.ts';
import { deletePasskey, listPasskeys, renamePasskey, type PasskeySummary } from './repo.ts';
import type { AuthenticationResult, RegistrationResult } from './results.ts';

export interface PasskeysDeps {
  readonly db: DB;
  readonly clock: Clock;
  /** PUBLIC_URL: the RP ID is its host name, the only accepted origin is its origin. */
  readonly publicURL: string;
  /** Shown by authenticators; "Gatehouse" by default. */
  readonly rpName?: string;
}

export interface Passkeys {
  readonly relyingParty: RelyingParty;
  /** Options for navigator.credentials.create(), with a new challenge for this account. */
  registrationOptions(user: PasskeyUser): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /** Verifies the browser's answer and stores the passkey, named `name` (default "Passkey"). */
  verifyRegistration(trx: DB, input: { readonly userId: string; readonly response: unknown; readonly name?: string }): Promise<RegistrationResult>;
  /** Options for navigator.credentials.get() listing the account's passkeys; null if it has none. */
  secondFactorOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON | null>;
  /** Verifies an assertion by one of `userId`'s passkeys. */
  verifySecondFactor(trx: DB, input: { readonly userId: string; readonly response: unknown }): Promise<AuthenticationResult>;
  /** Options for navigator.credentials.get() with no account named (discoverable credentials). */
  passwordlessOptions(): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Verifies a user-verified assertion of any passkey; the result names its owner. */
  verifyPasswordless(trx: DB, input: { readonly response: unknown }): Promise<AuthenticationResult>;
  list(userId: string): Promise<PasskeySummary[]>;
  /** False when the account has no such passkey or the name is not valid (see normalizePasskeyName). */
  rename(trx: DB, input: { readonly userId: string; readonly passkeyId: string; readonly name: string }): Promise<boolean>;
  /** False when the account has no such passkey. */
  remove(trx: DB, input: { readonly userId: string; readonly passkeyId: string }): Promise<boolean>;
  /** Deletes expired challenges; returns how many. */
  purgeExpiredChallenges(): Promise<number>;
}

export function createPasskeys(deps: PasskeysDeps): Passkeys {
  const rp = relyingPartyFrom(deps.publicURL, deps.rpName);
  const ceremony: CeremonyDeps = { db: deps.db, clock: deps.clock, rp };
  return {
    relyingParty: rp,
    registrationOptions: (user) => createRegistrationOptions(ceremony, user),
    verifyRegistration: (trx, input) => verifyRegistration(trx, ceremony, input),
    secondFactorOptions: (userId) => createSecondFactorOptions(ceremony, userId),
    verifySecondFactor: (trx, input) => verifyAssertion(trx, ceremony, { kind: 'second_factor', userId: input.userId }, input.response),
    passwordlessOptions: () => createPasswordlessOptions(ceremony),
    verifyPasswordless: (trx, input) => verifyAssertion(trx, ceremony, { kind: 'passwordless' }, input.response),
    list: (userId) => listPasskeys(deps.db, userId),
    async rename(trx, input) {
      const name = normalizePasskeyName(input.name);
      return name !== null && UUID_PATTERN.test(input.passkeyId) && renamePasskey(trx, input.userId, input.passkeyId, name);
    },
    // A malformed id is no passkey of anyone's, rather than a database error.
    remove: async (trx, input) => UUID_PATTERN.test(input.passkeyId) && deletePasskey(trx, input.userId, input.passkeyId),
    purgeExpiredChallenges: () => purgeExpiredChallenges(deps.db, deps.clock()),
  };
}
