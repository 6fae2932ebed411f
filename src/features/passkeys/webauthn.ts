// @simplewebauthn/server (its CBOR, COSE and ASN.1 stack) loaded on the first passkey
// ceremony rather than at start (core/lazy-module.ts).
import { lazyModule } from '../../core/lazy-module.ts';

export const webauthn = lazyModule(() => import('@simplewebauthn/server'));
