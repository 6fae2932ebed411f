// The mail module as other features see it: everything they may use, and nothing else.
export type { MailMessage, MailTransport } from './mailer.ts';
export { outboxTransport } from './mailer.ts';
export type { OutgoingMail } from './outgoing.ts';
export { accountDeletedMail, accountLockedMail, deletionScheduledMail, invitationMail, passwordChangedMail, passwordResetMail, recoveryCodeUsedMail, secondFactorChangedMail, secondFactorLockedMail, signupAttemptMail, verificationMail } from './templates.ts';
export { DEFAULT_MAX_PENDING_MAIL, MAIL_JOB_KIND } from './queue.ts';
export type { MailQueue } from './queue.ts';
