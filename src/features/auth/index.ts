// The shared authentication pieces as the flows and other features see them: everything
// they may use, and nothing else. Each flow (login, registration, verification, recovery,
// settings, sessions) is a folder of its own.
export type { AccountJobs, AddressJob, RegistrationJob } from './account-jobs.ts';
export { recordFailedAttempt, recordFailedSecondFactor, reserveCredentialAttempt } from './attempts.ts';
export type { CredentialAttemptDeps } from './attempts.ts';
export { requireAuth } from './authenticate.ts';
export { createDeviceTokens, DEVICE_TOKEN_KEY_PURPOSE, passwordCounter, secondFactorCounter, sessionCounters } from './device-tokens.ts';
export type { DeviceTokens } from './device-tokens.ts';
export { maintenanceError, openSession, signedInResponse, signIn, tokensFor } from './sign-in.ts';
export type { OpenedSession, SignedIn, SignInDeps } from './sign-in.ts';
export type { AuthContext } from './authenticate.ts';
export type { AuthLimits } from './limits.ts';
export { mailOneTimeLink } from './mailed-link.ts';
export { consumeOneTimeToken, expireOneTimeTokens, INVITATION_TTL, isOneTimeTokenUsable, issueOneTimeToken } from './one-time-tokens.ts';
export { weakPasswordError } from './password-rules.ts';
export { Accepted, CookieSessionResponse, DeviceToken, Email, ForgotBody, Name, OpaqueToken, Password, SignedInResponse, strict } from './schemas.ts';
export type { SessionGate } from './session-gate.ts';
export { issueTokenPair } from './token-pair.ts';
export type { TokenPair } from './token-pair.ts';
