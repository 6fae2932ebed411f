// The users module as other features see it: everything they may use, and nothing else.
export { createAccount } from './create-account.ts';
export type { CreateAccountDeps } from './create-account.ts';
export { eraseAccount, erasureQueries } from './erase.ts';
export type { ProfileCache } from './profile-cache.ts';
export { clearPasswordResetRequired, DEFAULT_ROLE, decryptContact, findUserByEmailIndex, findUserById, findUserWithRolesByEmailIndex, findUserWithRolesById, insertUser, loadEmail, loadProfile, markEmailVerified, rolesColumn, setPasswordHash, updateName } from './repo.ts';
export type { UserRecord, UserWithRoles } from './repo.ts';
