// What a ceremony's verification answers. A failure is a value, never an exception, and
// its reason is for logs, audit records and tests only: the caller maps every reason to
// one public error, so a client learns nothing about which check it failed.
import type { PasskeySummary } from './repo.ts';

/**
 * Why a response was refused.
 * - `malformed`: not the shape or size of a WebAuthn response, or not decodable, or an
 *   attestation format this server does not accept.
 * - `challenge`: not a challenge this server issued for this ceremony and account, or
 *   spent already, or expired.
 * - `origin`: clientDataJSON names another origin, or a cross-origin (iframe) ceremony.
 * - `rp_id`: authenticatorData was made for another RP ID.
 * - `user_verification`: the authenticator did not report user presence, or not user
 *   verification where it is required.
 * - `unknown_credential`: no passkey has this credential id.
 * - `wrong_user`: the credential belongs to another account than the one expected, or
 *   its user handle does not name its owner.
 * - `bad_signature`: the signature does not verify under the stored public key.
 * - `counter_regression`: a valid signature whose counter did not rise: a cloned
 *   authenticator, or a second use of one assertion. Worth an audit record.
 * - `already_registered`: (registration only) the credential id is registered already,
 *   to this account or another (WebAuthn §7.1 step 26).
 */
export type PasskeyFailureReason =
  | 'malformed'
  | 'challenge'
  | 'origin'
  | 'rp_id'
  | 'user_verification'
  | 'unknown_credential'
  | 'wrong_user'
  | 'bad_signature'
  | 'counter_regression'
  | 'already_registered';

export type RegistrationFailureReason = Extract<PasskeyFailureReason, 'malformed' | 'challenge' | 'origin' | 'rp_id' | 'user_verification' | 'bad_signature' | 'already_registered'>;
export type AuthenticationFailureReason = Exclude<PasskeyFailureReason, 'already_registered'>;

export type RegistrationResult =
  | { readonly ok: true; readonly passkey: PasskeySummary }
  | { readonly ok: false; readonly reason: RegistrationFailureReason };

/**
 * RFC 8176 authentication method reference of a passkey: `hwk` for a single-device
 * credential, whose private key the authenticator keeps to itself; `swk` for a
 * multi-device (synced) one, whose key its provider copies between devices through its
 * cloud, so possession is of a key held in software somewhere. The distinction rests on
 * the authenticator's own BE flag: with attestation `none`, nothing proves a
 * single-device key is in hardware.
 */
export type PasskeyAMR = 'hwk' | 'swk';

export type AuthenticationResult =
  | {
      readonly ok: true;
      readonly userId: string;
      readonly passkeyId: string;
      readonly amr: PasskeyAMR;
      /** The authenticator verified the user (PIN, biometrics): RFC 8176 `user` may be added. */
      readonly userVerified: boolean;
    }
  | {
      readonly ok: false;
      readonly reason: Exclude<AuthenticationFailureReason, 'counter_regression'>;
    }
  | {
      readonly ok: false;
      readonly reason: 'counter_regression';
      /** The owner and the passkey, for the audit record; the signature was valid. */
      readonly userId: string;
      readonly passkeyId: string;
    };

export function refuse<R extends PasskeyFailureReason>(reason: R): { readonly ok: false; readonly reason: R } {
  return { ok: false, reason };
}
