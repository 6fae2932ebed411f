// The settings flow as other modules see it.
export { changePassword, revokeOtherSessions } from './account.ts';
export type { SettingsDeps } from './deps.ts';
