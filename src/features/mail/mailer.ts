// Outgoing mail. SMTP through nodemailer when SMTP_URL is set; in development without
// it, each message is written as an .eml file to DATA_DIR/outbox so flows can be
// followed by hand. Production always has SMTP (configuration refuses otherwise).
//
// Sending happens after the response, off the request's path: a flow that mails and a
// flow that does not then answer in the same time, which is what keeps registration and
// recovery from revealing whether an address has an account.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { uuidv7 } from '../../core/crypto/ids.ts';
import { outsideTransaction } from '../../core/db/transaction-scope.ts';
import type { Logger } from '../../core/logging.ts';

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface Mailer {
  /** Sends now; rejects on failure. */
  send(message: MailMessage): Promise<void>;
  /** Queues for sending after the current request; failures are logged, never thrown. */
  enqueue(message: MailMessage): void;
  /** Resolves when every queued message has been attempted (tests, shutdown). */
  drain(): Promise<void>;
}

export type MailTransport = (message: MailMessage & { from: string }) => Promise<void>;

export function smtpTransport(url: string): MailTransport {
  const transport = nodemailer.createTransport(url);
  return async (message) => {
    await transport.sendMail(message);
  };
}

export function outboxTransport(directory: string): MailTransport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return async (message) => {
    const info = await builder.sendMail(message);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await writeFile(join(directory, `${uuidv7()}.eml`), info.message, { mode: 0o600 });
  };
}

const DEFAULT_MAX_PENDING = 1000;

export function createMailer(deps: { transport: MailTransport; from: string; log: Logger; maxPending?: number }): Mailer {
  const pending = new Set<Promise<void>>();
  const maxPending = deps.maxPending ?? DEFAULT_MAX_PENDING;
  const send = async (message: MailMessage): Promise<void> => {
    await deps.transport({ ...message, from: deps.from });
  };
  return {
    send,
    enqueue(message) {
      // Bounded: with a slow mail server a flood must not grow memory without limit.
      if (pending.size >= maxPending) {
        deps.log.error({ subject: message.subject, pending: pending.size }, 'mail queue full: message dropped');
        return;
      }
      const attempt = outsideTransaction(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(() => send(message))
        .catch((error: unknown) => {
          // The recipient is personal data and the body holds a one-time link: log neither.
          // Not the error object either: SMTP errors carry the rejected recipients.
          const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
          deps.log.error({ code: typeof code === 'string' ? code : 'unknown', response_code: typeof responseCode === 'number' ? responseCode : null, subject: message.subject }, 'mail delivery failed');
        })
        .finally(() => pending.delete(attempt));
      pending.add(attempt);
    },
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
