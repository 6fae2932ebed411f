// The sessions module as other features see it: everything they may use, and nothing else.
export type { SessionsDeps } from './deps.ts';
export { addFirstFactorToSession, createSession, listActiveSessions, liveSessionAuthentication, recordReauthentication, revokeSession, revokeSessionsOf, revokeUserSessions, rotateRefreshToken } from './repo.ts';
export type { RevokedSession, SessionAuthentication, SessionLifetimes, SessionOwners } from './repo.ts';
export { revokeOwnSession } from './revoke-own.ts';
export type { RefreshRotation } from './successor.ts';
export { minimizeSessionDevices, openDevices, sealDevice, type DeviceData } from './device.ts';
