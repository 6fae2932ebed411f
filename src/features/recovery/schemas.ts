// Request and response shapes of password recovery (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { OpaqueToken, Password, strict } from '../auth/index.ts';

export const ForgotAccepted = Type.Object({ status: Type.Literal('reset_requested') }, strict);
export const ResetBody = Type.Object({ token: OpaqueToken, password: Password }, strict);
