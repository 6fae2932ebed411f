// The incident-containment module as other modules see it: everything they may use, and nothing else.
export type { ContainmentActor, IncidentDeps } from './deps.ts';
export { createIncidentFlags, INCIDENT_TAG, readIncidentState, type IncidentFlags, type IncidentState } from './flags.ts';
export { forcePasswordReset, type ForceResetResult } from './force-reset.ts';
export { describeScope, parseScope, ScopeError, type ContainmentScope } from './scope.ts';
export { signOutSessions, type SignOutResult } from './sign-out.ts';
export { setIncidentSwitch, type IncidentSwitch } from './switches.ts';
