// The auth module as other features see it: everything they may use, and nothing else.
export { changePassword, revokeOtherSessions, revokeOwnSession } from './account.ts';
export { requireAuth } from './authenticate.ts';
export type { AuthDeps } from './deps.ts';
export type { AuthLimits } from './limits.ts';
export { INVITATION_TTL, issueOneTimeToken } from './one-time-tokens.ts';
export { weakPasswordError } from './password-rules.ts';
export { Email, Name, Password } from './schemas.ts';
