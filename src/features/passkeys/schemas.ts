// Request and response shapes of the passkey routes (a public contract: add fields, never rename).
import { Type } from 'typebox';
import { DeviceToken, strict } from '../auth/index.ts';
import { MAX_PASSKEY_NAME_LENGTH } from './passkey-name.ts';

/** A WebAuthn response (PublicKeyCredential JSON); its shape and sizes are checked by response-shape.ts. */
export const WebAuthnResponse = Type.Object({}, { additionalProperties: true, maxProperties: 16 });
/** WebAuthn options for the browser (PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON). */
export const WebAuthnOptions = Type.Object({}, { additionalProperties: true });

export const RegisterBody = Type.Object(
  { response: WebAuthnResponse, name: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PASSKEY_NAME_LENGTH })) },
  strict,
);

export const Passkey = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ maxLength: MAX_PASSKEY_NAME_LENGTH }),
    // `multiDevice`: synced by its provider (amr `swk`); `singleDevice`: kept on one authenticator (amr `hwk`).
    device_type: Type.Union([Type.Literal('singleDevice'), Type.Literal('multiDevice')]),
    backed_up: Type.Boolean(),
    transports: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 }),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.Union([Type.Null(), Type.String({ format: 'date-time' })]),
  },
  strict,
);

export const RegisteredPasskey = Type.Object(
  { passkey: Passkey, recovery_codes: Type.Union([Type.Null(), Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })]) },
  strict,
);

export const PasskeyParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, strict);
export const RenameBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_PASSKEY_NAME_LENGTH }) }, strict);
export const PasswordlessBody = Type.Object({ response: WebAuthnResponse, device_token: Type.Optional(DeviceToken) }, strict);
