// The attestation object of a registration (WebAuthn §6.5). Gatehouse asks for
// attestation `none` and uses none, so it accepts only what carries no certificate:
// `none`, and `packed` self-attestation (no x5c), which some clients keep. Every other
// format would only feed certificate chains from the client into the library's path
// validation, which downloads the CRLs their certificates name: a request to any URL
// an attacker chooses, for nothing this server uses.
import { webauthnHelpers } from './webauthn.ts';

export interface DecodedAttestation {
  readonly authData: Uint8Array;
}

/** The attestation's authenticatorData, or null if it is undecodable or carries certificates. */
export async function readAttestation(encoded: string): Promise<DecodedAttestation | null> {
  const { decodeAttestationObject } = await webauthnHelpers();
  try {
    const decoded = decodeAttestationObject(new Uint8Array(Buffer.from(encoded, 'base64url')));
    const fmt = decoded.get('fmt');
    const attStmt = decoded.get('attStmt');
    const authData = decoded.get('authData');
    if (!(authData instanceof Uint8Array)) return null;
    if (fmt === 'none' && attStmt.size === 0) return { authData };
    if (fmt === 'packed' && attStmt.get('x5c') === undefined) return { authData };
    return null;
  } catch {
    return null;
  }
}
