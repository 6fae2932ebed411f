// @simplewebauthn/server (its CBOR, COSE and ASN.1 stack) loaded on the first passkey
// ceremony rather than at start (core/lazy-module.ts).
import { lazyModule } from '../../core/lazy-module.ts';

export const webauthn = lazyModule(() => import('@simplewebauthn/server'));

/** Its CBOR helpers (the attestation object), from the same stack, also loaded on first use. */
export const webauthnHelpers = lazyModule(() => import('@simplewebauthn/server/helpers'));
