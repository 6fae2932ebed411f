// Incident response: containment (docs/incident-containment.md) and breach notification
// (docs/incident-notification.md), as other modules see it: everything they may use, and nothing else.
export { dryRunNotification, MAX_BATCH_SIZE, MAX_RATE_PER_SECOND, notifyUsers, NotifyError } from './notify.ts';
export type { DryRunResult, NotifyDeps, NotifyOptions, NotifyResult } from './notify.ts';
export { findCampaign, recipientStatuses } from './repo.ts';
export type { Campaign, RecipientStatus } from './repo.ts';
export { countStatuses, formatReport, reportFormatOf, reportRecords } from './report.ts';
export type { ReportRecord, ReportStatus } from './report.ts';
export { MAX_USERS_FILE_BYTES, parseUserIds, SelectionError } from './selection.ts';
export type { Selection } from './selection.ts';
export { MAX_TEMPLATE_BYTES, parseTemplate, renderNotification, TemplateError } from './template.ts';
export type { NotificationTemplate } from './template.ts';
export type { ContainmentActor, IncidentDeps } from './deps.ts';
export { createIncidentFlags, INCIDENT_TAG, readIncidentState, type IncidentFlags, type IncidentState } from './flags.ts';
export { forcePasswordReset, type ForceResetResult } from './force-reset.ts';
export { describeScope, parseScope, ScopeError, type ContainmentScope } from './scope.ts';
export { signOutSessions, type SignOutResult } from './sign-out.ts';
export { setIncidentSwitch, type IncidentSwitch } from './switches.ts';
