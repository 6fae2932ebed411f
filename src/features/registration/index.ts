// The registration flow as other modules see it (services.ts runs its job).
export type { RegistrationDeps } from './deps.ts';
export { completeRegistration, register } from './register.ts';
export type { Registration } from './register.ts';
