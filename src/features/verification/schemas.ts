// Request and response shapes of email verification (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { OpaqueToken, strict } from '../auth/index.ts';

export const TokenBody = Type.Object({ token: OpaqueToken }, strict);
export const Verified = Type.Object({ status: Type.Literal('email_verified') }, strict);
