// Request and response shapes of /v1/me, the settings flow (a public contract: add
// fields, never rename). Every string is bounded; unknown fields are refused.
import { Type } from 'typebox';
import { Name, Password, strict } from '../auth/index.ts';

export const Profile = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String({ maxLength: 254 }),
    name: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
    email_verified: Type.Boolean(),
    roles: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
    // What the roles grant now (docs/authorization.md): a client offers what the user may
    // do; the server checks every request anyway.
    permissions: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
    created_at: Type.String({ format: 'date-time' }),
  },
  strict,
);
export const PatchBody = Type.Object({ name: Type.Union([Name, Type.Null()]) }, strict);
export const PasswordBody = Type.Object({ current_password: Password, new_password: Password }, strict);
export const Session = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.String({ format: 'date-time' }),
    ip: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]),
    user_agent: Type.Union([Type.String({ maxLength: 256 }), Type.Null()]),
    current: Type.Boolean(),
    // How the session was authenticated: `password`, `password+totp`, `password+recovery_code`,
    // `password+passkey`, `passkey`; the same as RFC 8176 references; and when last.
    auth_method: Type.String({ maxLength: 64 }),
    amr: Type.Array(Type.String({ maxLength: 16 }), { maxItems: 8 }),
    auth_time: Type.String({ format: 'date-time' }),
  },
  strict,
);
export const SessionParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, strict);
