// How mail leaves: SMTP through nodemailer when SMTP_URL is set; in development without
// it, each message is written as an .eml file to DATA_DIR/outbox so flows can be
// followed by hand. Production always has SMTP (configuration refuses otherwise).
// Mail is sent by the job runner from the durable mail queue (queue.ts), never on a
// request's path.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uuidv7 } from '../../core/crypto/ids.ts';
import { lazyModule } from '../../core/lazy-module.ts';

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export type MailTransport = (message: MailMessage & { from: string }) => Promise<void>;

// nodemailer is loaded, and the transport made, by the first message (core/lazy-module.ts):
// mail leaves from the job runner, never before a start has finished.
const nodemailer = lazyModule(async () => (await import('nodemailer')).default);

export function smtpTransport(url: string): MailTransport {
  const transport = lazyModule(async () => (await nodemailer()).createTransport(url));
  return async (message) => {
    await (await transport()).sendMail(message);
  };
}

export function outboxTransport(directory: string): MailTransport {
  const builder = lazyModule(async () => (await nodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'unix' }));
  return async (message) => {
    const info = await (await builder()).sendMail(message);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await writeFile(join(directory, `${uuidv7()}.eml`), info.message, { mode: 0o600 });
  };
}
