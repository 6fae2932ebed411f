// A WebAuthn authenticator in software, for tests: it holds discoverable credentials
// (ES256 on P-256, or Ed25519) and answers registration and authentication options the
// way a browser and an authenticator together would, producing the JSON a browser posts
// (WebAuthn §5.1 toJSON). Built from node:crypto and a tiny CBOR encoder (RFC 8949), so
// the server's verification is tested against bytes it did not produce itself.
//
// Every field an attacker could change is an option (origin, RP ID, challenge, flags,
// counter, user handle), so security tests build each attack from a valid response.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

export type SoftwareAlgorithm = 'ES256' | 'Ed25519';

export type Cbor = number | string | Uint8Array | readonly Cbor[] | ReadonlyMap<Cbor, Cbor>;

function cborHead(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const head = Buffer.alloc(3);
    head[0] = (major << 5) | 25;
    head.writeUInt16BE(length, 1);
    return head;
  }
  const head = Buffer.alloc(5);
  head[0] = (major << 5) | 26;
  head.writeUInt32BE(length, 1);
  return head;
}

/** Definite-length CBOR of integers, text, bytes, arrays and maps: all WebAuthn needs. */
export function encodeCBOR(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, text.length), text]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  if (value instanceof Map) {
    const map = value as ReadonlyMap<Cbor, Cbor>;
    const parts = [cborHead(5, map.size)];
    for (const [key, item] of map) parts.push(encodeCBOR(key), encodeCBOR(item));
    return Buffer.concat(parts);
  }
  const items = value as readonly Cbor[];
  return Buffer.concat([cborHead(4, items.length), ...items.map(encodeCBOR)]);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

/** The COSE_Key (RFC 9052 §7, RFC 9053 §2.1, §7) of a public key. */
function coseKeyOf(algorithm: SoftwareAlgorithm, publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  if (algorithm === 'Ed25519') return encodeCBOR(new Map<Cbor, Cbor>([[1, 1], [3, -8], [-1, 6], [-2, x]]));
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  return encodeCBOR(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, x], [-3, y]]));
}

export interface CeremonyOverrides {
  /** The origin the browser reports in clientDataJSON (default: the test origin). */
  readonly origin?: string;
  /** The RP ID whose hash goes into authenticatorData (default: the options' RP ID). */
  readonly rpId?: string;
  /** Replaces the options' challenge in clientDataJSON. */
  readonly challenge?: string;
  /** Replaces clientDataJSON's `type`. */
  readonly type?: string;
  readonly crossOrigin?: boolean;
  /** The UP flag (default true). */
  readonly userPresent?: boolean;
  /** The UV flag (default true). */
  readonly userVerified?: boolean;
  /** The signature counter to report; default: the next one (or 0 for a zero-counter credential). */
  readonly counter?: number;
  /** The userHandle to send; null to send none (default: the credential's). */
  readonly userHandle?: string | null;
  /** Registration: the id of the new credential (default: 32 random bytes). */
  readonly credentialId?: string;
  /**
   * Registration: the attestation statement. `none` by default; `packed-self` is packed
   * self-attestation (§8.2, signed by the credential's own key, no certificate); or any
   * format and statement, for attacks.
   */
  readonly attestation?: 'none' | 'packed-self' | { readonly fmt: string; readonly attStmt: ReadonlyMap<Cbor, Cbor> };
}

export interface SoftwareCredential {
  readonly id: string;
  readonly algorithm: SoftwareAlgorithm;
  readonly synced: boolean;
  readonly userHandle: string;
  readonly rpId: string;
  readonly publicKey: KeyObject;
  /** Signs `data` with this credential's private key, as WebAuthn wants (ES256 in DER). */
  readonly sign: (data: Buffer) => Buffer;
  counter: number;
}

export interface SoftwareAuthenticatorOptions {
  readonly algorithm?: SoftwareAlgorithm;
  /** A multi-device credential: BE set, and BS (backed up). */
  readonly synced?: boolean;
  /** Keeps no counter: always reports 0, like many platform authenticators. */
  readonly zeroCounter?: boolean;
  /** The origin the browser runs at, e.g. https://id.example.test. */
  readonly origin: string;
}

/** The options as the browser gets them, or wrapped as the server answers `{ options, challengeHash }`. */
type Offered<T> = T | { readonly options: T };

function unwrap<T extends object>(offered: Offered<T>): T {
  return 'options' in offered ? offered.options : offered;
}

export interface SoftwareAuthenticator {
  readonly credentials: SoftwareCredential[];
  /** Creates a credential for the options and answers them. */
  register(options: Offered<PublicKeyCredentialCreationOptionsJSON>, overrides?: CeremonyOverrides): RegistrationResponseJSON;
  /** Answers with `credential` (default: the newest, or the first allowed one). */
  authenticate(options: Offered<PublicKeyCredentialRequestOptionsJSON>, overrides?: CeremonyOverrides & { readonly credential?: SoftwareCredential }): AuthenticationResponseJSON;
}

function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

function clientDataOf(type: string, challenge: string, origin: string, overrides: CeremonyOverrides): Buffer {
  return Buffer.from(JSON.stringify({ type: overrides.type ?? type, challenge: overrides.challenge ?? challenge, origin: overrides.origin ?? origin, crossOrigin: overrides.crossOrigin ?? false }), 'utf8');
}

function flagsOf(credential: SoftwareCredential, overrides: CeremonyOverrides, extra: number): number {
  let flags = extra;
  if (overrides.userPresent ?? true) flags |= FLAG_UP;
  if (overrides.userVerified ?? true) flags |= FLAG_UV;
  if (credential.synced) flags |= FLAG_BE | FLAG_BS;
  return flags;
}

function authenticatorDataOf(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
  const head = Buffer.alloc(37);
  sha256(rpId).copy(head, 0);
  head[32] = flags;
  head.writeUInt32BE(counter, 33);
  return attested === undefined ? head : Buffer.concat([head, attested]);
}

function newCredential(algorithm: SoftwareAlgorithm, options: { synced: boolean; userHandle: string; rpId: string }, id = randomBytes(32).toString('base64url')): SoftwareCredential {
  const pair = algorithm === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = algorithm === 'Ed25519' ? (data: Buffer): Buffer => sign(null, data, pair.privateKey) : (data: Buffer): Buffer => sign('sha256', data, { key: pair.privateKey, dsaEncoding: 'der' });
  return { id, algorithm, ...options, publicKey: pair.publicKey, sign: signer, counter: 0 };
}

function attestationOf(choice: NonNullable<CeremonyOverrides['attestation']>, credential: SoftwareCredential, signed: Buffer): { fmt: string; attStmt: ReadonlyMap<Cbor, Cbor> } {
  if (choice === 'none') return { fmt: 'none', attStmt: new Map() };
  if (choice === 'packed-self') return { fmt: 'packed', attStmt: new Map<Cbor, Cbor>([['alg', credential.algorithm === 'Ed25519' ? -8 : -7], ['sig', credential.sign(signed)]]) };
  return choice;
}

export function createSoftwareAuthenticator(options: SoftwareAuthenticatorOptions): SoftwareAuthenticator {
  const algorithm = options.algorithm ?? 'ES256';
  const credentials: SoftwareCredential[] = [];
  const nextCounter = (credential: SoftwareCredential, overrides: CeremonyOverrides): number => {
    if (overrides.counter !== undefined) return overrides.counter;
    if (options.zeroCounter === true) return 0;
    credential.counter += 1;
    return credential.counter;
  };

  return {
    credentials,
    register(offered, overrides = {}) {
      const creation = unwrap(offered);
      const credential = newCredential(algorithm, { synced: options.synced ?? false, userHandle: creation.user.id, rpId: creation.rp.id ?? '' }, overrides.credentialId);
      credentials.push(credential);
      const credentialId = Buffer.from(credential.id, 'base64url');
      const length = Buffer.alloc(2);
      length.writeUInt16BE(credentialId.length);
      // AAGUID all zero: what `none` attestation carries (§6.5.4).
      const attested = Buffer.concat([Buffer.alloc(16), length, credentialId, coseKeyOf(algorithm, credential.publicKey)]);
      const counter = overrides.counter ?? 0;
      const authData = authenticatorDataOf(overrides.rpId ?? credential.rpId, flagsOf(credential, overrides, FLAG_AT), counter, attested);
      const clientDataJSON = clientDataOf('webauthn.create', creation.challenge, options.origin, overrides);
      const statement = attestationOf(overrides.attestation ?? 'none', credential, Buffer.concat([authData, sha256(clientDataJSON)]));
      const attestationObject = encodeCBOR(new Map<Cbor, Cbor>([['fmt', statement.fmt], ['attStmt', statement.attStmt], ['authData', authData]]));
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['internal', 'hybrid'] },
        clientExtensionResults: {},
      };
    },
    authenticate(offered, overrides = {}) {
      const request = unwrap(offered);
      const allowed = request.allowCredentials?.map((descriptor) => descriptor.id) ?? [];
      const credential = overrides.credential ?? (allowed.length > 0 ? credentials.find((item) => allowed.includes(item.id)) : credentials.at(-1));
      if (credential === undefined) throw new Error('the software authenticator has no credential for these options');
      const authData = authenticatorDataOf(overrides.rpId ?? request.rpId ?? credential.rpId, flagsOf(credential, overrides, 0), nextCounter(credential, overrides));
      const clientDataJSON = clientDataOf('webauthn.get', request.challenge, options.origin, overrides);
      const signature = credential.sign(Buffer.concat([authData, sha256(clientDataJSON)]));
      const userHandle = overrides.userHandle === undefined ? credential.userHandle : overrides.userHandle;
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: {
          clientDataJSON: clientDataJSON.toString('base64url'),
          authenticatorData: authData.toString('base64url'),
          signature: signature.toString('base64url'),
          ...(userHandle === null ? {} : { userHandle }),
        },
        clientExtensionResults: {},
      };
    },
  };
}
