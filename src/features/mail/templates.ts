// Mail bodies. They carry no secret except the one-time link of the flow itself, and
// links are built only from PUBLIC_URL, never from request headers (a forged Host would
// otherwise send reset links to an attacker's domain).
import type { MailMessage } from './mailer.ts';

export interface MailLinks {
  readonly publicURL: string;
}

function link(links: MailLinks, path: string, token: string): string {
  const url = new URL(path, `${links.publicURL}/`);
  // In the fragment, not the query: fragments are not sent to servers or logged by proxies.
  url.hash = `token=${token}`;
  return url.toString();
}

export function verificationMail(links: MailLinks, to: string, token: string): MailMessage {
  return {
    to,
    subject: 'Confirm your email address',
    text: `Confirm your email address to finish creating your account:\n\n${link(links, 'verify-email', token)}\n\nThe link works once, for 24 hours. If you did not sign up, ignore this message.\n`,
  };
}

export function signupAttemptMail(to: string): MailMessage {
  return {
    to,
    subject: 'Someone tried to sign up with your address',
    text: 'Someone tried to create an account with this email address, which already has one. If it was you, log in or reset your password instead. If not, you can ignore this message: nothing was changed.\n',
  };
}

export function passwordResetMail(links: MailLinks, to: string, token: string): MailMessage {
  return {
    to,
    subject: 'Reset your password',
    text: `Someone asked to reset the password of your account. To choose a new one:\n\n${link(links, 'reset-password', token)}\n\nThe link works once, for 30 minutes. Resetting signs out every session. If you did not ask for this, ignore this message.\n`,
  };
}

export function invitationMail(links: MailLinks, to: string, token: string, validHours: number): MailMessage {
  return {
    to,
    subject: 'You have been invited to an account',
    text: `An administrator created an account for this email address. To choose your password and start using it:\n\n${link(links, 'reset-password', token)}\n\nThe link works once, for ${validHours} hours; after that, ask your administrator for a new one. If you did not expect this, ignore this message.\n`,
  };
}

export function accountLockedMail(to: string, minutes: number): MailMessage {
  return {
    to,
    subject: 'Your account was locked after failed sign-in attempts',
    text: `Several wrong passwords were tried for your account, so sign-in is locked for ${minutes} minutes. If this was not you, someone may know your email address: consider resetting your password once the lock ends.\n`,
  };
}

export function passwordChangedMail(to: string): MailMessage {
  return {
    to,
    subject: 'Your password was changed',
    text: 'The password of your account was just changed and other sessions were signed out. If this was not you, reset your password now and contact your administrator.\n',
  };
}

export function secondFactorLockedMail(to: string, minutes: number): MailMessage {
  return {
    to,
    subject: 'Sign-in to your account was locked after wrong second-factor codes',
    text: `Someone entered your password correctly and then several wrong second-factor codes, so the second step of sign-in is locked for ${minutes} minutes. If this was not you, your password is known to someone else: change it now.\n`,
  };
}

export function recoveryCodeUsedMail(to: string, remaining: number): MailMessage {
  return {
    to,
    subject: 'A recovery code was used to sign in to your account',
    text: `A recovery code was just used to sign in to your account; ${remaining} unused codes remain. If this was not you, change your password and make new recovery codes now.\n`,
  };
}

export function secondFactorChangedMail(to: string, change: string): MailMessage {
  return {
    to,
    subject: 'The sign-in security of your account changed',
    text: `${change} If this was not you, change your password now and contact your administrator.\n`,
  };
}

export function deletionScheduledMail(links: MailLinks, to: string, token: string, dueAt: Date): MailMessage {
  return {
    to,
    subject: 'Your account will be deleted',
    text: `Someone signed in to your account asked to delete it, and every session was signed out. The account and everything held about it will be erased on ${dueAt.toUTCString()}.\n\nIf you did not ask for this, or changed your mind, keep your account:\n\n${link(links, 'cancel-deletion', token)}\n\nLogging in and choosing to keep the account also cancels it. If someone else asked, change your password as well.\n`,
  };
}

export function accountDeletedMail(to: string): MailMessage {
  return {
    to,
    subject: 'Your account was deleted',
    text: 'Your account was deleted as you asked, with everything held about it. This address is no longer kept; this is the last message you will receive from us.\n',
  };
}
