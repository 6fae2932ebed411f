// The sessions module as other features see it: everything they may use, and nothing else.
export { createSession, isSessionActive, listActiveSessions, revokeSession, revokeUserSessions, rotateRefreshToken } from './repo.ts';
export type { SessionLifetimes } from './repo.ts';
export type { RefreshRotation } from './successor.ts';
