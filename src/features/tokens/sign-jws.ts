// EdDSA (Ed25519) signing of a JWT in the JWS Compact Serialization (RFC 7515 §7.1,
// RFC 8037 §3.1): base64url(header) "." base64url(payload) "." base64url(signature over
// the first two parts). Done here with node:crypto's one-shot sign because jose signs
// through WebCrypto, whose asynchronous job and per-call key handling cost about four
// times the signature itself, on every login and refresh. Only signing: every token is
// verified by jose with its full list of checks (access-tokens.ts), and the tests verify
// what this writes with jose.
import { sign, type KeyObject } from 'node:crypto';

export interface JWSHeader {
  readonly alg: 'EdDSA';
  readonly typ: string;
  readonly kid: string;
}

function encodePart(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The compact JWS of `payload` signed by an Ed25519 private key; throws for any other key. */
export function signEdDSAJWT(header: JWSHeader, payload: Readonly<Record<string, unknown>>, privateKey: KeyObject): string {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('EdDSA signing needs an Ed25519 private key');
  }
  const signingInput = `${encodePart(header)}.${encodePart(payload)}`;
  // Ed25519 hashes internally: the digest argument must be null (RFC 8032 PureEdDSA).
  const signature = sign(null, Buffer.from(signingInput, 'ascii'), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}
