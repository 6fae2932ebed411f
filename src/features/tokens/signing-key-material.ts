// One Ed25519 signing key as stored: a random kid, the public half as a JWK, and the
// private half (PKCS#8 DER) wrapped by the master keyring with the kid as its AAD, so a
// wrapped key copied onto another row does not unwrap there.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { SigningKeyError } from './errors.ts';

export const SIGNING_ALGORITHM = 'EdDSA';

// 128 random bits: a kid is public, but a guessable one would let a probe for
// not-yet-published keys hit the unknown-kid reload path on purpose.
const KID_BYTES = 16;
export const KID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
// An Ed25519 public key is 32 bytes: 43 base64url characters.
const X_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Exactly what is published for a key: no other member, so never a private `d`. */
export interface PublicSigningJWK {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

export interface GeneratedSigningKey {
  readonly kid: string;
  readonly publicJWK: PublicSigningJWK;
  readonly masterKeyId: string;
  readonly wrappedPrivateKey: string;
}

/** The keyring AAD of a signing key's private half. */
export function signingKeyAAD(kid: string): string {
  return `signing-key:${kid}`;
}

export function publicJWKOf(kid: string, key: KeyObject): PublicSigningJWK {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string' || !X_PATTERN.test(x)) throw new SigningKeyError('corrupt_key', `key ${kid} is not Ed25519`);
  return { kty: 'OKP', crv: 'Ed25519', x, kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}

export function generateSigningKey(keyring: Keyring): GeneratedSigningKey {
  const kid = randomBytes(KID_BYTES).toString('base64url');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    return {
      kid,
      publicJWK: publicJWKOf(kid, publicKey),
      masterKeyId: keyring.currentKeyId,
      wrappedPrivateKey: keyring.wrap(der, signingKeyAAD(kid)),
    };
  } finally {
    der.fill(0);
  }
}

/**
 * The stored public JWK, rebuilt member by member: whatever else the column holds
 * (a `d`, a `jku`, an `x5u`) is never carried into what is published or trusted.
 */
export function parsePublicJWK(kid: string, value: unknown): PublicSigningJWK | null {
  if (typeof value !== 'object' || value === null || !KID_PATTERN.test(kid)) return null;
  const jwk = value as Record<string, unknown>;
  const { x } = jwk;
  const matches =
    jwk['kty'] === 'OKP' && jwk['crv'] === 'Ed25519' && jwk['kid'] === kid && jwk['alg'] === SIGNING_ALGORITHM;
  if (!matches || typeof x !== 'string' || !X_PATTERN.test(x)) return null;
  return { kty: 'OKP', crv: 'Ed25519', x, kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}

/** The private key of `jwk`, unwrapped; throws unless it is the Ed25519 key `jwk` publishes. */
export function unwrapSigningKey(keyring: Keyring, jwk: PublicSigningJWK, wrapped: string): KeyObject {
  const der = keyring.unwrap(wrapped, signingKeyAAD(jwk.kid));
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
  // A mismatch would sign tokens nobody can verify; refuse at load, not at the first request.
  if (privateKey.asymmetricKeyType !== 'ed25519' || publicJWKOf(jwk.kid, createPublicKey(privateKey)).x !== jwk.x) {
    throw new SigningKeyError('corrupt_key', `the private key of ${jwk.kid} does not match its public key`);
  }
  return privateKey;
}

export function publicKeyOf(jwk: PublicSigningJWK): KeyObject {
  return createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
}
