// authenticatorData (WebAuthn §6.1): the fixed 37-byte head the authenticator signs,
// read here so its checks (§7.1 steps 13-16, §7.2 steps 15-18) name what failed. The
// WebAuthn library verifies the same fields again; these run first only to classify.
import { createHash } from 'node:crypto';
import type { RelyingParty } from './relying-party.ts';

const HEAD_BYTES = 37;
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;

export interface AuthenticatorDataHead {
  readonly rpIdHash: Buffer;
  readonly userPresent: boolean;
  readonly userVerified: boolean;
  /** BE: the credential may be synced to other devices (a multi-device credential). */
  readonly backupEligible: boolean;
  /** BS: it is backed up now. */
  readonly backedUp: boolean;
  readonly signCount: number;
}

export function readAuthenticatorData(bytes: Uint8Array): AuthenticatorDataHead | null {
  if (bytes.length < HEAD_BYTES) return null;
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = data.readUInt8(32);
  return {
    rpIdHash: data.subarray(0, 32),
    userPresent: (flags & FLAG_UP) !== 0,
    userVerified: (flags & FLAG_UV) !== 0,
    backupEligible: (flags & FLAG_BE) !== 0,
    backedUp: (flags & FLAG_BS) !== 0,
    signCount: data.readUInt32BE(33),
  };
}

/**
 * `rp_id` when the data was made for another RP ID; `user_verification` without user
 * presence, or without user verification when `requireUserVerification`; `malformed`
 * for a backed-up credential that says it cannot be backed up (§6.1.3). Null when all
 * is well.
 */
export function checkAuthenticatorData(head: AuthenticatorDataHead, rp: RelyingParty, options: { readonly requireUserVerification: boolean }): 'rp_id' | 'user_verification' | 'malformed' | null {
  const expected = createHash('sha256').update(rp.id, 'utf8').digest();
  if (!expected.equals(head.rpIdHash)) return 'rp_id';
  if (!head.userPresent) return 'user_verification';
  if (options.requireUserVerification && !head.userVerified) return 'user_verification';
  if (head.backedUp && !head.backupEligible) return 'malformed';
  return null;
}
