// The lockout module as other features see it: everything they may use, and nothing else.
export type { Lockout } from './service.ts';
export { carryLoginFailures } from './repo.ts';
