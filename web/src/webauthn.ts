// Passkeys in the browser: the server's PublicKeyCredentialRequestOptionsJSON or
// ...CreationOptionsJSON (WebAuthn L3) in, the credential's JSON out, with base64url
// conversion of the binary fields.

function fromBase64URL(value: string): ArrayBuffer {
  const base64 = value.replaceAll('-', '+').replaceAll('_', '/').padEnd(Math.ceil(value.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return bytes.buffer;
}

function toBase64URL(buffer: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

interface RequestOptionsJSON {
  readonly challenge: string;
  readonly allowCredentials?: readonly { readonly id: string; readonly type: string; readonly transports?: readonly string[] }[];
  readonly [key: string]: unknown;
}

function descriptorsOf(list: RequestOptionsJSON['allowCredentials']): PublicKeyCredentialDescriptor[] {
  return (list ?? []).map((credential) => ({
    id: fromBase64URL(credential.id),
    type: 'public-key' as const,
    ...(credential.transports === undefined ? {} : { transports: [...credential.transports] as AuthenticatorTransport[] }),
  }));
}

function parseRequestOptions(json: RequestOptionsJSON): PublicKeyCredentialRequestOptions {
  return {
    ...(json as unknown as PublicKeyCredentialRequestOptions),
    challenge: fromBase64URL(json.challenge),
    ...(json.allowCredentials === undefined ? {} : { allowCredentials: descriptorsOf(json.allowCredentials) }),
  };
}

/** The credential's JSON (PublicKeyCredential.toJSON() of WebAuthn L3) around its response's. */
function credentialJSON(credential: PublicKeyCredential, response: Record<string, unknown>): Record<string, unknown> {
  return {
    id: credential.id,
    rawId: toBase64URL(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
    response,
  };
}

function assertionJSON(credential: PublicKeyCredential): Record<string, unknown> {
  const response = credential.response as AuthenticatorAssertionResponse;
  return credentialJSON(credential, {
    clientDataJSON: toBase64URL(response.clientDataJSON),
    authenticatorData: toBase64URL(response.authenticatorData),
    signature: toBase64URL(response.signature),
    ...(response.userHandle === null ? {} : { userHandle: toBase64URL(response.userHandle) }),
  });
}

export function canUsePasskeys(): boolean {
  return typeof window.PublicKeyCredential === 'function' && typeof navigator.credentials.get === 'function';
}

/** Asks the browser for a passkey assertion; null when the user cancelled. */
export async function getPasskeyAssertion(options: Readonly<Record<string, unknown>>): Promise<Record<string, unknown> | null> {
  const json = options as RequestOptionsJSON;
  let credential: Credential | null;
  try {
    credential = await navigator.credentials.get({ publicKey: parseRequestOptions(json) });
  } catch (error) {
    if (error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'AbortError')) return null;
    throw error;
  }
  if (!(credential instanceof PublicKeyCredential)) return null;
  return assertionJSON(credential);
}

interface CreationOptionsJSON {
  readonly challenge: string;
  readonly user: { readonly id: string; readonly name: string; readonly displayName: string };
  readonly excludeCredentials?: RequestOptionsJSON['allowCredentials'];
  readonly [key: string]: unknown;
}

function parseCreationOptions(json: CreationOptionsJSON): PublicKeyCredentialCreationOptions {
  return {
    ...(json as unknown as PublicKeyCredentialCreationOptions),
    challenge: fromBase64URL(json.challenge),
    user: { ...json.user, id: fromBase64URL(json.user.id) },
    excludeCredentials: descriptorsOf(json.excludeCredentials),
  };
}

function attestationJSON(credential: PublicKeyCredential): Record<string, unknown> {
  const response = credential.response as AuthenticatorAttestationResponse;
  return credentialJSON(credential, {
    clientDataJSON: toBase64URL(response.clientDataJSON),
    attestationObject: toBase64URL(response.attestationObject),
    transports: response.getTransports(),
  });
}

export type PasskeyCreation = { readonly ok: true; readonly credential: Record<string, unknown> } | { readonly ok: false; readonly reason: 'cancelled' | 'exists' };

/**
 * Asks the browser to create a passkey; `exists` when the authenticator already holds one
 * of this account's (the server's excludeCredentials), `cancelled` when the user declined.
 */
export async function createPasskey(options: Readonly<Record<string, unknown>>): Promise<PasskeyCreation> {
  let credential: Credential | null;
  try {
    credential = await navigator.credentials.create({ publicKey: parseCreationOptions(options as CreationOptionsJSON) });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'InvalidStateError') return { ok: false, reason: 'exists' };
    if (error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'AbortError')) return { ok: false, reason: 'cancelled' };
    throw error;
  }
  if (!(credential instanceof PublicKeyCredential)) return { ok: false, reason: 'cancelled' };
  return { ok: true, credential: attestationJSON(credential) };
}
