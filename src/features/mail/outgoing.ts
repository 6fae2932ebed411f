// What a change hands the mail module: a message as one of the change's jobs
// (core/change.ts), written in its transaction to the durable mail queue (queue.ts), so
// a rolled-back change mails nothing and a committed one's mail survives a crash.
import type { PendingJob } from '../../core/change.ts';
import type { MailMessage } from './mailer.ts';
import type { MailOptions, MailQueue } from './queue.ts';

export interface OutgoingMail {
  job(message: MailMessage, options: MailOptions): PendingJob;
}

export function createOutgoingMail(queue: MailQueue): OutgoingMail {
  return {
    job(message, options) {
      return { write: (trx) => queue.enqueue(trx, message, options) };
    },
  };
}
