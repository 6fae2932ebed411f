// Request and response shapes of the account endpoints (a public contract: add fields,
// never rename). Every string is bounded; unknown fields are refused.
import { Type } from 'typebox';

const strict = { additionalProperties: false } as const;

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
// Generous at the boundary so the policy, not the schema, explains a too-long password.
export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const OpaqueToken = Type.String({ minLength: 1, maxLength: 128 });

export const RegisterBody = Type.Object({ email: Email, password: Password, name: Type.Optional(Name) }, strict);
export const Accepted = Type.Object({ status: Type.Literal('verification_sent') }, strict);
export const ForgotAccepted = Type.Object({ status: Type.Literal('reset_requested') }, strict);
export const TokenBody = Type.Object({ token: OpaqueToken }, strict);
export const Verified = Type.Object({ status: Type.Literal('email_verified') }, strict);
export const LoginBody = Type.Object({ email: Email, password: Password }, strict);
export const RefreshBody = Type.Object({ refresh_token: OpaqueToken }, strict);
export const ForgotBody = Type.Object({ email: Email }, strict);
export const ResetBody = Type.Object({ token: OpaqueToken, password: Password }, strict);

export const TokenResponse = Type.Object(
  {
    access_token: Type.String({ maxLength: 4096 }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
    refresh_token: Type.String({ maxLength: 128 }),
    session_id: Type.String({ format: 'uuid' }),
  },
  strict,
);
export const RefreshResponse = Type.Object(
  {
    access_token: Type.String({ maxLength: 4096 }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
    refresh_token: Type.String({ maxLength: 128 }),
  },
  strict,
);
