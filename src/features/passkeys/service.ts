// Passkeys as the rest of Gatehouse uses them: one factory, its dependencies explicit.
// Functions that write take the transaction first, so a route can put the passkey's
// change and its audit record in one `change` (core/change.ts); option issuance writes
// only a challenge row, on `db` (inside a transaction, that is the transaction's).
//
//   register:          registrationOptions(user)        -> browser -> verifyRegistration(trx, ...)
//   second factor:     secondFactorOptions(userId)      -> browser -> verifySecondFactor(trx, ...)
//   re-authentication: reauthenticationOptions(userId)  -> browser -> verifyReauthentication(trx, ...)
//   passwordless:      passwordlessOptions()            -> browser -> verifyPasswordless(trx, ...)
//
// Options come as `{ options, challengeHash }`: `options` goes to the browser as it is;
// a caller that keeps `challengeHash` (the MFA step of a login) passes it back to the
// verification, which then accepts only an answer to that challenge.
//
// Every verification answers a result, never throws for client input, and its failure
// reason is for logs and audit only (results.ts). No key material leaves this feature.
// The challenge is spent in the verification's transaction: if the caller rolls it back,
// the challenge stays unspent until it expires, which grants nothing, since only a
// committed, successful verification does anything.
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Clock } from '../../core/clock.ts';
import { UUID_PATTERN } from '../../core/crypto/ids.ts';
import type { DB } from '../../core/db/database.ts';
import { createAccountAssertionOptions, createPasswordlessOptions, verifyAssertion } from './authentication.ts';
import { purgeExpiredChallenges, type CeremonyOptions } from './challenges.ts';
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

type RequestOptions = CeremonyOptions<PublicKeyCredentialRequestOptionsJSON>;

/** An assertion to verify; `challengeHash`, when given, must be its challenge's (null refuses all). */
export interface AssertionInput {
  readonly response: unknown;
  readonly challengeHash?: string | null;
}

export interface Passkeys {
  readonly relyingParty: RelyingParty;
  /** Options for navigator.credentials.create(), with a new challenge for this account. */
  registrationOptions(user: PasskeyUser): Promise<CeremonyOptions<PublicKeyCredentialCreationOptionsJSON>>;
  /** Verifies the browser's answer and stores the passkey, named `name` (default "Passkey"). */
  verifyRegistration(trx: DB, input: { readonly userId: string; readonly response: unknown; readonly name?: string }): Promise<RegistrationResult>;
  /** Options for navigator.credentials.get() listing the account's passkeys, UV preferred; null if it has none. */
  secondFactorOptions(userId: string): Promise<RequestOptions | null>;
  /** Verifies an assertion by one of `userId`'s passkeys (user presence suffices). */
  verifySecondFactor(trx: DB, input: AssertionInput & { readonly userId: string }): Promise<AuthenticationResult>;
  /** As secondFactorOptions, with user verification required: the passkey alone re-authenticates. */
  reauthenticationOptions(userId: string): Promise<RequestOptions | null>;
  /** Verifies a user-verified assertion by one of `userId`'s passkeys. */
  verifyReauthentication(trx: DB, input: AssertionInput & { readonly userId: string }): Promise<AuthenticationResult>;
  /** Options for navigator.credentials.get() with no account named (discoverable credentials), UV required. */
  passwordlessOptions(): Promise<RequestOptions>;
  /** Verifies a user-verified assertion of any passkey; the result names its owner. */
  verifyPasswordless(trx: DB, input: AssertionInput): Promise<AuthenticationResult>;
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
  const binding = (input: AssertionInput): { challengeHash?: string | null } => (input.challengeHash === undefined ? {} : { challengeHash: input.challengeHash });
  return {
    relyingParty: rp,
    registrationOptions: (user) => createRegistrationOptions(ceremony, user),
    verifyRegistration: (trx, input) => verifyRegistration(trx, ceremony, input),
    secondFactorOptions: (userId) => createAccountAssertionOptions(ceremony, userId, 'second_factor'),
    verifySecondFactor: (trx, input) => verifyAssertion(trx, ceremony, { kind: 'second_factor', userId: input.userId, ...binding(input) }, input.response),
    reauthenticationOptions: (userId) => createAccountAssertionOptions(ceremony, userId, 'reauthentication'),
    verifyReauthentication: (trx, input) => verifyAssertion(trx, ceremony, { kind: 'reauthentication', userId: input.userId, ...binding(input) }, input.response),
    passwordlessOptions: () => createPasswordlessOptions(ceremony),
    verifyPasswordless: (trx, input) => verifyAssertion(trx, ceremony, { kind: 'passwordless', ...binding(input) }, input.response),
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
