// Request and response shapes of login (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { Email, Password, strict } from '../auth/index.ts';

export const LoginBody = Type.Object({ email: Email, password: Password }, strict);

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
