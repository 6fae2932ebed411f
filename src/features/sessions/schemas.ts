// Request and response shapes of refresh and logout (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { OpaqueToken, strict } from '../auth/index.ts';

export const RefreshBody = Type.Object({ refresh_token: OpaqueToken }, strict);
export const RefreshResponse = Type.Object(
  {
    access_token: Type.String({ maxLength: 4096 }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
    refresh_token: Type.String({ maxLength: 128 }),
  },
  strict,
);
