// The passkeys module as other features see it: everything they may use, and nothing else.
export { createPasskeys } from './service.ts';
export type { AssertionInput, Passkeys, PasskeysDeps } from './service.ts';
export type { CeremonyOptions } from './challenges.ts';
export type { PasskeyUser } from './registration.ts';
export type { PasskeySummary } from './repo.ts';
export type { AuthenticationResult, PasskeyAMR, PasskeyFailureReason, RegistrationResult } from './results.ts';
export { relyingPartyFrom } from './relying-party.ts';
export type { RelyingParty } from './relying-party.ts';
export { MAX_PASSKEY_NAME_LENGTH, normalizePasskeyName } from './passkey-name.ts';
