// Signing in with a passkey (WebAuthn §7.2), as an ordered table of checks, in two
// modes that differ only in who is expected:
// - second factor: the account is known (its password was right); the options list its
//   passkeys and the credential must be one of them. User presence suffices: the
//   password was the knowledge factor.
// - passwordless: nobody is known; the options list nothing (a discoverable credential
//   chooses itself), the credential's user handle must name its owner, and the
//   authenticator must have verified the user, since the passkey is the only factor.
import { generateAuthenticationOptions, verifyAuthenticationResponse, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { DB } from '../../core/db/database.ts';
import { checkAuthenticatorData, readAuthenticatorData, type AuthenticatorDataHead } from './authenticator-data.ts';
import { CHALLENGE_TTL_MS, consumeChallenge, issueChallenge } from './challenges.ts';
import { checkClientData, decodeClientData } from './client-data.ts';
import type { CeremonyDeps } from './registration.ts';
import { advanceSignCount, findPasskeyByCredentialId, listCredentialDescriptors, type StoredPasskey } from './repo.ts';
import { readAuthenticationResponse } from './response-shape.ts';
import { refuse, type AuthenticationResult } from './results.ts';
import { encodedUserHandleOf } from './user-handle.ts';

/** Who the assertion must come from: a known account, or whoever the credential names. */
export type AssertionMode = { readonly kind: 'second_factor'; readonly userId: string } | { readonly kind: 'passwordless' };

/** Options for the account's passkeys as second factor; null when it has none. */
export async function createSecondFactorOptions(deps: CeremonyDeps, userId: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const allowCredentials = await listCredentialDescriptors(deps.db, userId);
  if (allowCredentials.length === 0) return null;
  const challenge = await issueChallenge(deps.db, { purpose: 'authenticate', userId }, deps.clock());
  return generateAuthenticationOptions({ rpID: deps.rp.id, allowCredentials, challenge: challenge.bytes, timeout: CHALLENGE_TTL_MS, userVerification: 'preferred' });
}

/** Options for passwordless sign-in: any discoverable passkey of this RP may answer. */
export async function createPasswordlessOptions(deps: CeremonyDeps): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const challenge = await issueChallenge(deps.db, { purpose: 'authenticate', userId: null }, deps.clock());
  return generateAuthenticationOptions({ rpID: deps.rp.id, allowCredentials: [], challenge: challenge.bytes, timeout: CHALLENGE_TTL_MS, userVerification: 'required' });
}

/**
 * §7.2 steps 6-7: the credential belongs to the expected account, and a user handle, if
 * given (always, for passwordless), names the credential's owner.
 */
function checkOwner(passkey: StoredPasskey, mode: AssertionMode, userHandle: string | undefined): boolean {
  if (mode.kind === 'second_factor' && passkey.userId !== mode.userId) return false;
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
    const verified = await verifyAuthenticationResponse({
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
export async function verifyAssertion(trx: DB, deps: Omit<CeremonyDeps, 'db'>, mode: AssertionMode, input: unknown): Promise<AuthenticationResult> {
  const response = readAuthenticationResponse(input);
  if (response === null) return refuse('malformed');
  const clientData = decodeClientData(response.response.clientDataJSON);
  if (clientData === null) return refuse('malformed');
  const now = deps.clock();
  const scope = { purpose: 'authenticate' as const, userId: mode.kind === 'second_factor' ? mode.userId : null };
  // Spent first, whatever follows: one attempt per challenge.
  if (!(await consumeChallenge(trx, clientData.challenge, scope, now))) return refuse('challenge');
  const clientProblem = checkClientData(clientData, 'webauthn.get', deps.rp);
  if (clientProblem !== null) return refuse(clientProblem);
  const head = readAuthenticatorData(Buffer.from(response.response.authenticatorData, 'base64url'));
  if (head === null) return refuse('malformed');
  const requireUserVerification = mode.kind === 'passwordless';
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
