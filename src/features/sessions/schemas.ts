// Request and response shapes of refresh and logout (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { OpaqueToken, strict } from '../auth/index.ts';

// A browser in cookie mode sends `{}`: its refresh token is the `__Host-gh_refresh` cookie.
export const RefreshBody = Type.Object({ refresh_token: Type.Optional(OpaqueToken) }, strict);
export const RefreshResponse = Type.Object(
  {
    access_token: Type.String({ maxLength: 4096 }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
    refresh_token: Type.String({ maxLength: 128 }),
  },
  strict,
);
