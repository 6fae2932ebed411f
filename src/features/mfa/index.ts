// The MFA flow as other modules see it: login asks it whether a second step is needed
// and starts it; the routes enrol factors and complete logins.
export { requireSecondFactor } from './begin.ts';
export type { MfaRequired } from './begin.ts';
export type { MfaDeps } from './deps.ts';
export { enrolledFactors, hasSecondFactor, secondFactorMethods } from './factors.ts';
export type { EnrolledFactors, SecondFactorMethod } from './factors.ts';
export { verifySecondFactor } from './second-factor.ts';
export type { PasskeyAssertionOptions, PasskeyReauthentication, PasskeySecondFactor, SecondFactorProof, SecondFactorResult } from './second-factor.ts';
export { mfaRoutes } from './routes.ts';
export { createSecondFactorRequirement } from './policy.ts';
export type { SecondFactorRequirement } from './policy.ts';
export { proofOf } from './proof.ts';
export { ReauthenticateBody, ReauthenticateResponse, RecoveryCode, TotpCode } from './schemas.ts';
export { firstFactorEnrolled, mailOwner, removeRecoveryCodesIfNoFactor } from './enrolment.ts';
export { replaceRecoveryCodes } from './recovery-codes.ts';
export { recordRecoveryCodeUse, signInWithSecondFactor } from './login-step.ts';
