// Registering a passkey on a signed-in account (WebAuthn §7.1), as an ordered table of
// checks. The options ask for a discoverable credential with user verification, so any
// passkey registered here can later sign in alone (passwordless), and list the account's
// passkeys so the same authenticator is not registered twice.
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { webauthn } from './webauthn.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import { SUPPORTED_ALGORITHM_IDS } from './algorithms.ts';
import { readAttestation } from './attestation.ts';
import { checkAuthenticatorData, readAuthenticatorData } from './authenticator-data.ts';
import { CHALLENGE_TTL_MS, consumeChallenge, issueChallenge, type CeremonyOptions } from './challenges.ts';
import { checkClientData, decodeClientData } from './client-data.ts';
import { DEFAULT_PASSKEY_NAME, normalizePasskeyName } from './passkey-name.ts';
import type { RelyingParty } from './relying-party.ts';
import { insertPasskey, listCredentialDescriptors } from './repo.ts';
import { readRegistrationResponse } from './response-shape.ts';
import { refuse, type RegistrationResult } from './results.ts';
import { userHandleOf } from './user-handle.ts';

// The bound of `passkeys.public_key`: an RS256 key of 4096 bits is about 720 characters.
const MAX_PUBLIC_KEY_CHARS = 1024;

export interface CeremonyDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly rp: RelyingParty;
}

/** The account as the authenticator will show it. */
export interface PasskeyUser {
  readonly id: string;
  /** Shown in the authenticator's account chooser, usually the email address. */
  readonly name: string;
  readonly displayName?: string;
}

export async function createRegistrationOptions(deps: CeremonyDeps, user: PasskeyUser): Promise<CeremonyOptions<PublicKeyCredentialCreationOptionsJSON>> {
  const existing = await listCredentialDescriptors(deps.db, user.id);
  const challenge = await issueChallenge(deps.db, { purpose: 'register', userId: user.id }, deps.clock());
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName: deps.rp.name,
    rpID: deps.rp.id,
    userName: user.name,
    userID: userHandleOf(user.id),
    userDisplayName: user.displayName ?? user.name,
    challenge: challenge.bytes,
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: existing,
    // Discoverable and user-verifying: a passkey, able to be the only factor.
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    supportedAlgorithmIDs: [...SUPPORTED_ALGORITHM_IDS],
  });
  return { options, challengeHash: challenge.hash };
}

export interface RegistrationInput {
  readonly userId: string;
  /** The client's JSON, untrusted. */
  readonly response: unknown;
  readonly name?: string;
}

/**
 * Verifies a registration response for `userId` and stores the passkey, in `trx` (the
 * challenge is spent in it too: a rolled-back registration leaves its challenge to
 * expire, which grants nothing). Never throws for anything the client sent.
 */
export async function verifyRegistration(trx: DB, deps: Omit<CeremonyDeps, 'db'>, input: RegistrationInput): Promise<RegistrationResult> {
  const name = normalizePasskeyName(input.name ?? DEFAULT_PASSKEY_NAME);
  const response = readRegistrationResponse(input.response);
  if (name === null || response === null) return refuse('malformed');
  const clientData = decodeClientData(response.response.clientDataJSON);
  if (clientData === null) return refuse('malformed');
  const now = deps.clock();
  // Spent first, whatever follows: one attempt per challenge.
  if (!(await consumeChallenge(trx, clientData.challenge, { purpose: 'register', userId: input.userId }, now))) return refuse('challenge');
  const clientProblem = checkClientData(clientData, 'webauthn.create', deps.rp);
  if (clientProblem !== null) return refuse(clientProblem);
  const attestation = await readAttestation(response.response.attestationObject);
  const head = attestation === null ? null : readAuthenticatorData(attestation.authData);
  if (head === null) return refuse('malformed');
  const dataProblem = checkAuthenticatorData(head, deps.rp, { requireUserVerification: true });
  if (dataProblem !== null) return refuse(dataProblem);

  let verified;
  try {
    verified = await (await webauthn()).verifyRegistrationResponse({
      response,
      expectedChallenge: clientData.challenge,
      expectedOrigin: deps.rp.origin,
      expectedRPID: deps.rp.id,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: [...SUPPORTED_ALGORITHM_IDS],
    });
  } catch {
    return refuse('malformed');
  }
  if (!verified.verified) return refuse('bad_signature');
  const info = verified.registrationInfo;
  const credentialId = info.credential.id;
  const publicKey = Buffer.from(info.credential.publicKey).toString('base64url');
  // The library's credential id comes from authenticatorData; it must be the one posted,
  // and the key must fit the column's bound.
  if (credentialId !== response.id || publicKey.length > MAX_PUBLIC_KEY_CHARS) return refuse('malformed');

  const stored = {
    userId: input.userId,
    credentialId,
    publicKey,
    signCount: info.credential.counter,
    transports: response.response.transports ?? [],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    name,
    now,
  };
  const id = await insertPasskey(trx, stored);
  if (id === null) return refuse('already_registered');
  return {
    ok: true,
    passkey: { id, name, deviceType: stored.deviceType, backedUp: stored.backedUp, transports: stored.transports, createdAt: now, lastUsedAt: null },
  };
}
