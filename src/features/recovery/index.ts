// The recovery flow as other modules see it (services.ts runs its reset-request job).
export type { RecoveryDeps } from './deps.ts';
export { forgotPassword, resetPassword, sendResetLink } from './recovery.ts';
