// Request and response shapes shared by the account flows (a public contract: add
// fields, never rename); each flow's own bodies are in its folder's schemas.ts. Every
// string is bounded; unknown fields are refused.
import { Type } from 'typebox';

export const strict = { additionalProperties: false } as const;

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
// Generous at the boundary so the policy, not the schema, explains a too-long password.
export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const OpaqueToken = Type.String({ minLength: 1, maxLength: 128 });

/** Registration and verification resend: a mail follows (or not), the answer is the same. */
export const Accepted = Type.Object({ status: Type.Literal('verification_sent') }, strict);
/** A request for mail to an address: verification resend and password reset. */
export const ForgotBody = Type.Object({ email: Email }, strict);

/** The answer of every completed login (password, second factor, passkey). */
export const SignedInResponse = Type.Object(
  {
    access_token: Type.String({ maxLength: 4096 }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
    refresh_token: Type.String({ maxLength: 128 }),
    session_id: Type.String({ format: 'uuid' }),
    // Send it with later logins from this device (auth/device-tokens.ts): not a credential.
    device_token: Type.String({ maxLength: 128 }),
  },
  strict,
);

/** A device token presented with a login, as issued (ghd_...); anything else counts as none. */
export const DeviceToken = Type.String({ minLength: 1, maxLength: 128 });

/** A signed-in browser (cookie mode): the tokens went into cookies; the page learns only this. */
export const CookieSessionResponse = Type.Object(
  {
    token_type: Type.Literal('cookie'),
    session_id: Type.String({ format: 'uuid' }),
    expires_in: Type.Integer({ minimum: 1 }),
  },
  strict,
);
