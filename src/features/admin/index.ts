// The administration module as other modules see it: everything they may use, and nothing else.
export { bootstrapAdmin } from './bootstrap.ts';
export type { BootstrapOutcome } from './bootstrap.ts';
export type { AdminRoleDeps, AdminUserDeps } from './deps.ts';
export { assertMayManage, assertNotLastAdmin } from './guards.ts';
