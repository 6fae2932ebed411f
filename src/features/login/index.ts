// The login flow as other modules see it.
export type { LoginDeps } from './deps.ts';
export { login } from './login.ts';
export type { LoginInput, LoginResult } from './login.ts';
export type { ReauthenticateDeps } from './reauthenticate.ts';
