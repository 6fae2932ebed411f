// For breach-notification tests: a template that passes the checks, to vary one part at a time.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { changesFor, testDeps } from '../../core/audit/audit.fixtures.ts';
import { createBlindIndex } from '../../core/crypto/blind-index.ts';
import { createKeyring, type Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { mailRig, type MailRig } from '../mail/mail.fixtures.ts';
import { eraseAccount, insertUser } from '../users/index.ts';
import type { NotifyDeps } from './notify.ts';
import { parseTemplate, type NotificationTemplate } from './template.ts';

export interface TemplateParts {
  readonly subject?: string;
  readonly fields?: string;
  readonly body?: string;
}

export const VALID_BODY = `Dear {{name}},

## What happened
On {{incident_date}} someone reached a database of {{organisation}}.

## What data was involved
Your email address and name.

## What we did
We closed the access and reset every session.

## What you should do
Choose a new password. Details: {{support_url}}

Questions: {{contact}}
`;

export const VALID_FIELDS = 'organisation: Example Ltd\nincident_date: 1 December 2026\nsupport_url: https://example.test/incident\ncontact: dpo@example.test';

export function templateText(parts: TemplateParts = {}): string {
  return `---\nsubject: ${parts.subject ?? 'A security incident involving your account'}\n${parts.fields ?? VALID_FIELDS}\n---\n${parts.body ?? VALID_BODY}`;
}

export function templateBytes(parts: TemplateParts = {}): Uint8Array {
  return Buffer.from(templateText(parts), 'utf8');
}

export interface NotifyRig {
  readonly deps: NotifyDeps;
  readonly mail: MailRig;
  readonly keyring: Keyring;
  /** Progress lines written. */
  readonly progress: string[];
  /** Runs every mail job, moving the clock past each one's slot. */
  deliver(): Promise<void>;
}

/** Deps of the campaign on `db`, with the mail rig's recording transport and manual clock; `sleep` moves that clock. */
export function notifyRig(db: DB, options: { readonly keyring?: Keyring; readonly maxPending?: number } = {}): NotifyRig {
  const keyring = options.keyring ?? createKeyring([{ id: 'test', key: randomBytes(32) }]);
  const mail = mailRig(db, options.maxPending === undefined ? {} : { maxPending: options.maxPending });
  const progress: string[] = [];
  return {
    mail,
    keyring,
    progress,
    deps: {
      db,
      change: changesFor(db, testDeps()),
      mail: mail.queue,
      keyring,
      clock: mail.time.clock,
      sleep: async (ms) => { mail.time.advanceMs(ms); },
      progress: (line) => { progress.push(line); },
    },
    async deliver() {
      for (let round = 0; round < 100; round++) {
        mail.time.advanceSeconds(3600);
        if ((await mail.runner.runDue()) === 0) return;
      }
    },
  };
}

/** A template unique to one test (its own campaign), otherwise the valid one. */
export function uniqueTemplate(): NotificationTemplate {
  return parseTemplate(templateBytes({ subject: `A security incident involving your account (${randomBytes(4).toString('hex')})` }));
}

export type AccountKind = 'active' | 'disabled' | 'erased';

/** Makes accounts of each kind; answers their ids and addresses. */
export async function makeAccounts(db: DB, keyring: Keyring, kinds: readonly AccountKind[], options: { readonly name?: string | null; readonly now?: Date } = {}): Promise<{ readonly id: string; readonly email: string; readonly kind: AccountKind }[]> {
  const blindIndex = createBlindIndex(randomBytes(32));
  const made = [];
  for (const kind of kinds) {
    const email = `incident.${randomBytes(6).toString('hex')}@example.test`;
    const now = options.now ?? new Date(Date.now() - 60_000);
    const id = await insertUser(db, { keyring, blindIndex }, { email, name: options.name === undefined ? 'Someone' : options.name, passwordHash: null, emailVerified: true, now });
    if (id === null) throw new Error('insertUser refused a fresh address');
    if (kind === 'disabled') await db.updateTable('users').set({ status: 'disabled' }).where('id', '=', id).execute();
    if (kind === 'erased') await db.transaction().execute((trx) => eraseAccount(trx, { id, emailIndex: blindIndex.email(email) }, 'test', now));
    made.push({ id, email, kind });
  }
  return made;
}

/** The recipient of each .eml file written to `directory`. */
export async function outboxRecipients(directory: string): Promise<string[]> {
  const files = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.eml'));
  const recipients: string[] = [];
  for (const file of files) {
    const to = /^To: (.+)$/m.exec(await readFile(join(directory, file), 'utf8'))?.[1]?.trim();
    if (to !== undefined) recipients.push(to);
  }
  return recipients;
}
