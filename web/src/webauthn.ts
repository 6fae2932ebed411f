// A passkey assertion in the browser: the server's PublicKeyCredentialRequestOptionsJSON
// (WebAuthn L3) in, the credential's JSON out, with the browser's own JSON helpers when it
// has them and base64url conversion otherwise.

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

function parseRequestOptions(json: RequestOptionsJSON): PublicKeyCredentialRequestOptions {
  return {
    ...(json as unknown as PublicKeyCredentialRequestOptions),
    challenge: fromBase64URL(json.challenge),
    ...(json.allowCredentials === undefined
      ? {}
      : {
          allowCredentials: json.allowCredentials.map((credential) => ({
            id: fromBase64URL(credential.id),
            type: 'public-key' as const,
            ...(credential.transports === undefined ? {} : { transports: [...credential.transports] as AuthenticatorTransport[] }),
          })),
        }),
  };
}

function assertionJSON(credential: PublicKeyCredential): Record<string, unknown> {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: toBase64URL(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: {
      clientDataJSON: toBase64URL(response.clientDataJSON),
      authenticatorData: toBase64URL(response.authenticatorData),
      signature: toBase64URL(response.signature),
      ...(response.userHandle === null ? {} : { userHandle: toBase64URL(response.userHandle) }),
    },
  };
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
