// The JSON a browser posts after navigator.credentials.create() / .get() (WebAuthn §5.1
// `toJSON()`), checked field by field, with every size bounded, before any of it reaches
// a decoder or the WebAuthn library. What comes out is a fresh object holding only the
// fields used, so nothing else a client adds travels further.
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// §5.8.3: 16 to 1023 bytes.
const CREDENTIAL_ID_CHARS = { min: 22, max: 1364 };
// Real clientDataJSON is a few hundred bytes.
const CLIENT_DATA_CHARS = { min: 1, max: 4096 };
// `none` and packed self-attestation are well under 2 KiB; room for large keys.
const ATTESTATION_OBJECT_CHARS = { min: 1, max: 8192 };
// 37 bytes at least (§6.1), a few extensions at most.
const AUTHENTICATOR_DATA_CHARS = { min: 50, max: 2048 };
// An RS256 signature with a 4096-bit key is 683 characters.
const SIGNATURE_CHARS = { min: 1, max: 1024 };
// §5.4.3: at most 64 bytes.
const USER_HANDLE_CHARS = { min: 1, max: 86 };
// §5.8.4 AuthenticatorTransport; others are dropped.
export const KNOWN_TRANSPORTS: ReadonlySet<string> = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
const MAX_TRANSPORTS = 8;

type Record_ = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base64url(value: unknown, bounds: { readonly min: number; readonly max: number }): string | null {
  if (typeof value !== 'string' || value.length < bounds.min || value.length > bounds.max) return null;
  return BASE64URL.test(value) ? value : null;
}

function transportsOf(value: unknown): string[] | null {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_TRANSPORTS) return null;
  const known = new Set<string>();
  for (const item of value as unknown[]) {
    if (typeof item !== 'string') return null;
    if (KNOWN_TRANSPORTS.has(item)) known.add(item);
  }
  return [...known].sort();
}

/** The credential id, shared by both shapes: `id` and `rawId` equal, type `public-key`. */
function credentialOf(input: unknown): { id: string; response: Record_ } | null {
  if (!isRecord(input) || input['type'] !== 'public-key' || !isRecord(input['response'])) return null;
  const id = base64url(input['id'], CREDENTIAL_ID_CHARS);
  if (id === null || input['rawId'] !== id) return null;
  return { id, response: input['response'] };
}

/** A registration response, or null if it is not one. */
export function readRegistrationResponse(input: unknown): RegistrationResponseJSON | null {
  const credential = credentialOf(input);
  if (credential === null) return null;
  const { response } = credential;
  const clientDataJSON = base64url(response['clientDataJSON'], CLIENT_DATA_CHARS);
  const attestationObject = base64url(response['attestationObject'], ATTESTATION_OBJECT_CHARS);
  const transports = transportsOf(response['transports']);
  if (clientDataJSON === null || attestationObject === null || transports === null) return null;
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: { clientDataJSON, attestationObject, transports },
    clientExtensionResults: {},
  };
}

/** An authentication (assertion) response, or null if it is not one. */
export function readAuthenticationResponse(input: unknown): AuthenticationResponseJSON | null {
  const credential = credentialOf(input);
  if (credential === null) return null;
  const { response } = credential;
  const clientDataJSON = base64url(response['clientDataJSON'], CLIENT_DATA_CHARS);
  const authenticatorData = base64url(response['authenticatorData'], AUTHENTICATOR_DATA_CHARS);
  const signature = base64url(response['signature'], SIGNATURE_CHARS);
  if (clientDataJSON === null || authenticatorData === null || signature === null) return null;
  const rawHandle = response['userHandle'];
  // Browsers send null or leave it out for credentials without a user handle.
  const userHandle = rawHandle === undefined || rawHandle === null ? undefined : base64url(rawHandle, USER_HANDLE_CHARS);
  if (userHandle === null) return null;
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: { clientDataJSON, authenticatorData, signature, ...(userHandle === undefined ? {} : { userHandle }) },
    clientExtensionResults: {},
  };
}
