// Request and response shapes of the MFA flow (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { strict } from '../auth/index.ts';

export const TotpCode = Type.String({ minLength: 1, maxLength: 16 });
export const RecoveryCode = Type.String({ minLength: 1, maxLength: 64 });
/** A WebAuthn response (PublicKeyCredential JSON); its shape is checked by the passkeys module. */
export const PasskeyResponse = Type.Object({}, { additionalProperties: true, maxProperties: 16 });

/** Exactly one proof: `code` (TOTP), `recovery_code` or `passkey`. */
export const MfaBody = Type.Object(
  {
    mfa_token: Type.String({ minLength: 1, maxLength: 64 }),
    code: Type.Optional(TotpCode),
    recovery_code: Type.Optional(RecoveryCode),
    passkey: Type.Optional(PasskeyResponse),
  },
  strict,
);

export const ReauthenticateBody = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    code: Type.Optional(TotpCode),
    recovery_code: Type.Optional(RecoveryCode),
    passkey: Type.Optional(PasskeyResponse),
  },
  strict,
);

export const ReauthenticateResponse = Type.Object(
  { auth_time: Type.String({ format: 'date-time' }), amr: Type.Array(Type.String({ maxLength: 16 }), { maxItems: 8 }) },
  strict,
);

export const MfaStatus = Type.Object(
  {
    /** Must this account have a second factor (MFA_REQUIRED_ROLES)? */
    required: Type.Boolean(),
    methods: Type.Array(Type.Union([Type.Literal('passkey'), Type.Literal('totp'), Type.Literal('recovery_code')]), { maxItems: 3 }),
    totp: Type.Union([Type.Null(), Type.Object({ confirmed_at: Type.String({ format: 'date-time' }) }, strict)]),
    passkeys: Type.Integer({ minimum: 0 }),
    recovery_codes_remaining: Type.Integer({ minimum: 0 }),
  },
  strict,
);

export const TotpEnrolmentResponse = Type.Object(
  {
    secret: Type.String({ maxLength: 64 }),
    otpauth_uri: Type.String({ maxLength: 2048 }),
    // An SVG document of the QR code of otpauth_uri (rendered by qrcode; paths only).
    qr_svg: Type.String({ maxLength: 65_536 }),
  },
  strict,
);

export const ConfirmBody = Type.Object({ code: TotpCode }, strict);

export const RecoveryCodesResponse = Type.Object(
  { recovery_codes: Type.Union([Type.Null(), Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })]) },
  strict,
);
