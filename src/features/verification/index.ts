// The verification flow as other modules see it (services.ts runs its resend job).
export type { VerificationDeps } from './deps.ts';
export { requestVerificationMail, resendVerification } from './resend.ts';
export { verifyEmail } from './verify-email.ts';
export { TokenBody } from './schemas.ts';
