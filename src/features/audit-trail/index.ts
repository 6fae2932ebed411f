// The audit-trail module as other modules see it: everything they may use, and nothing else.
export type { AuditTrailDeps } from './deps.ts';
export { toOwnEvent } from './own-events.ts';
export { listEventsAboutUser } from './repo.ts';
