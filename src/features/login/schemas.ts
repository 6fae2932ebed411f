// Request and response shapes of login (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { CookieSessionResponse, DeviceToken, Email, Password, SignedInResponse, strict } from '../auth/index.ts';
import { RecoveryCode, TotpCode } from '../mfa/index.ts';

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Password,
    device_token: Type.Optional(DeviceToken),
    // With the password, for a client that knows the account has an authenticator app:
    // the login completes in one request (otherwise the answer is mfa_required).
    code: Type.Optional(TotpCode),
    recovery_code: Type.Optional(RecoveryCode),
  },
  strict,
);

/** A correct password for an account with a second factor: finish with POST /v1/auth/mfa. */
export const MfaRequiredResponse = Type.Object(
  {
    mfa_required: Type.Literal(true),
    mfa_token: Type.String({ maxLength: 64 }),
    expires_in: Type.Integer({ minimum: 1 }),
    methods: Type.Array(Type.Union([Type.Literal('passkey'), Type.Literal('totp'), Type.Literal('recovery_code')]), { maxItems: 3 }),
    // PublicKeyCredentialRequestOptionsJSON (WebAuthn L3) when `passkey` is a method, else null.
    passkey_options: Type.Union([Type.Null(), Type.Object({}, { additionalProperties: true })]),
  },
  strict,
);

export const LoginResponse = Type.Union([SignedInResponse, MfaRequiredResponse, CookieSessionResponse]);
