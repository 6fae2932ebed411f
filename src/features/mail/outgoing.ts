// What a change hands the mail module: a message as one of the change's jobs
// (core/change.ts), written in its transaction to the durable mail queue (queue.ts), so
// a rolled-back change mails nothing and a committed one's mail survives a crash.
import type { PendingJob } from '../../core/change.ts';
import type { MailMessage } from './mailer.ts';
import type { MailQueue } from './queue.ts';

export interface OutgoingMail {
  /** `userId`: the account the mail is about, when there is one (deleting it deletes the pending mail). */
  job(message: MailMessage, options: { readonly userId: string | null }): PendingJob;
}

export function createOutgoingMail(queue: MailQueue): OutgoingMail {
  return {
    job(message, options) {
      return { write: (trx) => queue.enqueue(trx, message, options) };
    },
  };
}
