// Signing in with a passkey (WebAuthn §7.2), as an ordered table of checks, in three
// modes that differ only in who is expected and whether the user must be verified:
// - second factor: the account is known (its password was right); the options list its
//   passkeys and the credential must be one of them. User presence suffices: the
//   password was the knowledge factor.
// - re-authentication: the signed-in account proves itself again with a passkey alone,
//   so the credential must be one of its own and the user verified.
// - passwordless: nobody is known; the options list nothing (a discoverable credential
//   chooses itself), the credential's user handle must name its owner, and the
//   authenticator must have verified the user, since the passkey is the only factor.
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { webauthn } from './webauthn.ts';
import type { DB } from '../../core/db/database.ts';
import { checkAuthenticatorData, readAuthenticatorData, type AuthenticatorDataHead } from './authenticator-data.ts';
import { CHALLENGE_TTL_MS, consumeChallenge, hashChallenge, issueChallenge, type CeremonyOptions } from './challenges.ts';
import { checkClientData, decodeClientData } from './client-data.ts';
import type { CeremonyDeps } from './registration.ts';
import { advanceSignCount, findPasskeyByCredentialId, listCredentialDescriptors, type StoredPasskey } from './repo.ts';
import { readAuthenticationResponse } from './response-shape.ts';
import { refuse, type AuthenticationResult } from './results.ts';
import { encodedUserHandleOf } from './user-handle.ts';

/** Who the assertion must come from: a known account, or whoever the credential names. */
export type AssertionMode =
  | { readonly kind: 'second_factor' | 'reauthentication'; readonly userId: string }
  | { readonly kind: 'passwordless' };

/**
 * Binds the assertion to one challenge the caller kept (an MFA login step stores the one
 * it offered): when given, clientDataJSON must name exactly the challenge of this hash,
 * and null, meaning none was offered, refuses every assertion.
 */
export interface ChallengeBinding {
  readonly challengeHash?: string | null;
}

/**
 * Options listing the account's passkeys, for a second factor (user verification
 * preferred) or re-authentication (required); null when it has none.
 */
export async function createAccountAssertionOptions(deps: CeremonyDeps, userId: string, purpose: 'second_factor' | 'reauthentication'): Promise<CeremonyOptions<PublicKeyCredentialRequestOptionsJSON> | null> {
  const allowCredentials = await listCredentialDescriptors(deps.db, userId);
  if (allowCredentials.length === 0) return null;
  const challenge = await issueChallenge(deps.db, { purpose: 'authenticate', userId }, deps.clock());
  const userVerification = purpose === 'second_factor' ? 'preferred' : 'required';
  const options = await (await webauthn()).generateAuthenticationOptions({ rpID: deps.rp.id, allowCredentials, challenge: challenge.bytes, timeout: CHALLENGE_TTL_MS, userVerification });
  return { options, challengeHash: challenge.hash };
}

/** Options for passwordless sign-in: any discoverable passkey of this RP may answer. */
export async function createPasswordlessOptions(deps: CeremonyDeps): Promise<CeremonyOptions<PublicKeyCredentialRequestOptionsJSON>> {
  const challenge = await issueChallenge(deps.db, { purpose: 'authenticate', userId: null }, deps.clock());
  const options = await (await webauthn()).generateAuthenticationOptions({ rpID: deps.rp.id, allowCredentials: [], challenge: challenge.bytes, timeout: CHALLENGE_TTL_MS, userVerification: 'required' });
  return { options, challengeHash: challenge.hash };
}

function checkBinding(binding: ChallengeBinding, challenge: string): boolean {
  return binding.challengeHash === undefined || (binding.challengeHash !== null && binding.challengeHash === hashChallenge(challenge));
}

/**
 * §7.2 steps 6-7: the credential belongs to the expected account, and a user handle, if
 * given (always, for passwordless), names the credential's owner.
 */
function checkOwner(passkey: StoredPasskey, mode: AssertionMode, userHandle: string | undefined): boolean {
  if (mode.kind !== 'passwordless' && passkey.userId !== mode.userId) return false;
  if (mode.kind === 'passwordless' && userHandle === undefined) return false;
  return userHandle === undefined || userHandle === encodedUserHandleOf(passkey.userId);
}

/**
 * The signature over authenticatorData ‖ SHA-256(clientDataJSON) under the stored key,
 * by the library, which repeats the checks made before. It is given a counter of 0 so
 * that it leaves the counter to `advanceSignCount`: a regression is then reported only
 * for a valid signature, and decided atomically in the database.
 */
async function checkSignature(passkey: StoredPasskey, response: AuthenticationResponseJSON, deps: Omit<CeremonyDeps, 'db'>, options: { readonly challenge: string; readonly requireUserVerification: boolean }): Promise<'bad_signature' | 'malformed' | null> {
  try {
    const verified = await (await webauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge: options.challenge,
      expectedOrigin: deps.rp.origin,
      expectedRPID: deps.rp.id,
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: 0, transports: [...passkey.transports] },
      requireUserVerification: options.requireUserVerification,
    });
    return verified.verified ? null : 'bad_signature';
  } catch {
    return 'malformed';
  }
}

/** §6.1.3: a credential's backup eligibility is fixed at creation; a change is not the same authenticator. */
function sameDeviceType(passkey: StoredPasskey, head: AuthenticatorDataHead): boolean {
  return (passkey.deviceType === 'multiDevice') === head.backupEligible;
}

/**
 * Verifies an assertion. Writes, in `trx`: the spent challenge and, on success, the new
 * counter. Never throws for anything the client sent.
 */
export async function verifyAssertion(trx: DB, deps: Omit<CeremonyDeps, 'db'>, mode: AssertionMode & ChallengeBinding, input: unknown): Promise<AuthenticationResult> {
  const response = readAuthenticationResponse(input);
  if (response === null) return refuse('malformed');
  const clientData = decodeClientData(response.response.clientDataJSON);
  if (clientData === null) return refuse('malformed');
  const now = deps.clock();
  const scope = { purpose: 'authenticate' as const, userId: mode.kind === 'passwordless' ? null : mode.userId };
  if (!checkBinding(mode, clientData.challenge)) return refuse('challenge');
  // Spent first, whatever follows: one attempt per challenge.
  if (!(await consumeChallenge(trx, clientData.challenge, scope, now))) return refuse('challenge');
  const clientProblem = checkClientData(clientData, 'webauthn.get', deps.rp);
  if (clientProblem !== null) return refuse(clientProblem);
  const head = readAuthenticatorData(Buffer.from(response.response.authenticatorData, 'base64url'));
  if (head === null) return refuse('malformed');
  const requireUserVerification = mode.kind !== 'second_factor';
  const dataProblem = checkAuthenticatorData(head, deps.rp, { requireUserVerification });
  if (dataProblem !== null) return refuse(dataProblem);

  const passkey = await findPasskeyByCredentialId(trx, response.id);
  if (passkey === null) return refuse('unknown_credential');
  if (!checkOwner(passkey, mode, response.response.userHandle)) return refuse('wrong_user');
  if (!sameDeviceType(passkey, head)) return refuse('malformed');
  const signatureProblem = await checkSignature(passkey, response, deps, { challenge: clientData.challenge, requireUserVerification });
  if (signatureProblem !== null) return refuse(signatureProblem);

  const counter = await advanceSignCount(trx, passkey.id, { signCount: head.signCount, backedUp: head.backedUp, now });
  if (counter === 'gone') return refuse('unknown_credential');
  if (counter === 'regressed') return { ok: false, reason: 'counter_regression', userId: passkey.userId, passkeyId: passkey.id };
  return { ok: true, userId: passkey.userId, passkeyId: passkey.id, amr: passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk', userVerified: head.userVerified };
}
