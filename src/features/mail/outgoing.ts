// What a change hands the mail module: a message to send once the change commits, as one
// of the change's jobs (core/change.ts), so a rolled-back change mails nothing.
import type { PendingJob } from '../../core/change.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export interface OutgoingMail {
  /** `userId`: the account the mail is about, when there is one. */
  job(message: MailMessage, options: { readonly userId: string | null }): PendingJob;
}

export function createOutgoingMail(mailer: Mailer): OutgoingMail {
  return {
    job(message) {
      return {
        write: () => Promise.resolve(),
        committed: () => { mailer.enqueue(message); },
      };
    },
  };
}
