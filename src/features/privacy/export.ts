// The data export (GDPR art. 15 and 20): one ZIP archive of everything Gatehouse holds
// about one account, in machine-readable JSON with a schema version and a README.
//
// Memory stays bounded whatever the account's size: the small parts (profile, second
// factors) are read at once, the long ones (sessions, security events) are read a page
// at a time when the archive reaches them and written as NDJSON, pulled by the response
// (yazl reads each entry's stream only when the previous one is done, and only as fast
// as the client takes the archive). The manifest comes last, with the counts.
//
// Uploaded files come last but one: their list (names, types, sizes) is read at once, and
// each file's content is read and decrypted only when the archive reaches it, so one file
// at a time is in memory, never the account's whole storage.
//
// What is never in it: the password hash, the TOTP secret, recovery codes (only how many
// are left), passkey public keys, token hashes, other people's data (an event's details
// and, for events the user did not provably cause, its address and user agent; the same
// rules as GET /v1/me/events).
import { PassThrough, Readable } from 'node:stream';
import type { ZipFile } from 'yazl';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { lazyModule } from '../../core/lazy-module.ts';
import { openDevices } from '../sessions/index.ts';
import type { DB } from '../../core/db/database.ts';
import { listEventsAboutUser, toOwnEvent } from '../audit-trail/index.ts';
import { defaultExtension, listOwnFiles, readOwnFile, type ContentStore, type FileInfo } from '../files/index.ts';
import { decryptContact } from '../users/index.ts';

// The ZIP writer, loaded by the first export instead of at start.
const yazl = lazyModule(async () => (await import('yazl')).default);

export const EXPORT_SCHEMA_VERSION = 1;
const PAGE = 500;
const TOTP_STEP_MS = 30_000;

export interface ExportDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  readonly clock: () => Date;
  /** Where the account's files' contents are (features/files). */
  readonly fileStore: ContentStore;
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

async function profileOf(deps: ExportDeps, userId: string): Promise<Record<string, unknown> | null> {
  const row = await deps.db
    .selectFrom('users')
    .leftJoin('data_keys', 'data_keys.owner_id', 'users.id')
    .select(['users.id', 'users.email_ciphertext', 'users.name_ciphertext', 'users.email_verified_at', 'users.status', 'users.created_at', 'users.updated_at', 'users.password_hash', 'data_keys.wrapped_key'])
    .where('users.id', '=', userId)
    .executeTakeFirst();
  const contact = row === undefined ? null : decryptContact(deps.keyring, row);
  if (row === undefined || contact === null) return null;
  const roles = await deps.db.selectFrom('user_roles').select(['role', 'granted_at']).where('user_id', '=', userId).orderBy('role').execute();
  return {
    id: row.id,
    email: contact.email,
    name: contact.name,
    email_verified_at: iso(row.email_verified_at),
    status: row.status,
    has_password: row.password_hash !== null,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    roles: roles.map((role) => ({ role: role.role, granted_at: iso(role.granted_at) })),
  };
}

async function secondFactorsOf(deps: ExportDeps, userId: string): Promise<Record<string, unknown>> {
  const totp = await deps.db.selectFrom('mfa_totp').select(['created_at', 'confirmed_at', 'last_used_step']).where('user_id', '=', userId).executeTakeFirst();
  const codes = await deps.db.selectFrom('mfa_recovery_codes').select(['created_at', 'used_at']).where('user_id', '=', userId).execute();
  const passkeys = await deps.db
    .selectFrom('passkeys')
    .select(['id', 'name', 'device_type', 'backed_up', 'transports', 'created_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  return {
    authenticator_app:
      totp === undefined
        ? null
        : { added_at: iso(totp.created_at), confirmed_at: iso(totp.confirmed_at), last_used_at: totp.last_used_step === null ? null : new Date(totp.last_used_step * TOTP_STEP_MS).toISOString() },
    recovery_codes: {
      issued: codes.length,
      remaining: codes.filter((code) => code.used_at === null).length,
      used_at: codes.flatMap((code) => (code.used_at === null ? [] : [iso(code.used_at)])),
      issued_at: iso(codes[0]?.created_at ?? null),
    },
    passkeys: passkeys.map((passkey) => ({
      id: passkey.id,
      name: passkey.name,
      synced: passkey.device_type === 'multiDevice',
      backed_up: passkey.backed_up,
      transports: passkey.transports,
      added_at: iso(passkey.created_at),
      last_used_at: iso(passkey.last_used_at),
    })),
  };
}

/** Counts what a stream wrote, for the manifest. */
interface Counted {
  count: number;
}

async function* sessionLines(deps: ExportDeps, userId: string, counted: Counted): AsyncGenerator<string> {
  let after: string | null = null;
  for (;;) {
    let query = deps.db
      .selectFrom('sessions')
      .leftJoin('data_keys', 'data_keys.owner_id', 'sessions.user_id')
      .select(['sessions.id', 'sessions.user_id', 'sessions.created_at', 'last_used_at', 'expires_at', 'revoked_at', 'revoked_reason', 'ip_sealed', 'user_agent_sealed', 'auth_method', 'amr', 'auth_time', 'data_keys.wrapped_key'])
      .where('user_id', '=', userId);
    if (after !== null) query = query.where('sessions.id', '>', after);
    const rows = await query.orderBy('sessions.id').limit(PAGE).execute();
    const devices = openDevices(deps.keyring, rows);
    for (const row of rows) {
      counted.count += 1;
      yield `${JSON.stringify({
        id: row.id,
        created_at: iso(row.created_at),
        last_used_at: iso(row.last_used_at),
        expires_at: iso(row.expires_at),
        ended_at: iso(row.revoked_at),
        ended_because: row.revoked_reason,
        ip: devices.get(row.id)?.ip ?? null,
        user_agent: devices.get(row.id)?.userAgent ?? null,
        signed_in_with: row.auth_method,
        authentication_methods: row.amr,
        last_authenticated_at: iso(row.auth_time),
      })}\n`;
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) return;
    after = last.id;
  }
}

async function* eventLines(deps: ExportDeps, userId: string, counted: Counted): AsyncGenerator<string> {
  let afterSeq = 0;
  for (;;) {
    const rows = await listEventsAboutUser(deps.db, userId, { afterSeq, limit: PAGE });
    for (const row of rows) {
      counted.count += 1;
      yield `${JSON.stringify(toOwnEvent(row, userId))}\n`;
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) return;
    afterSeq = last.seq;
  }
}

const README = (generatedAt: string): string => `Gatehouse data export
=====================

Everything this Gatehouse server holds about your account, as of ${generatedAt}.
Schema version ${EXPORT_SCHEMA_VERSION}. UTF-8 JSON; times are ISO 8601 in UTC.

profile.json           your account: email, name, status, roles, when it was created
second-factors.json    your authenticator app, recovery codes and passkeys (when they were
                       added and last used; never the secrets themselves)
sessions.ndjson        one JSON object per line: every sign-in session still kept (ended
                       sessions are deleted 30 days after they end), with the address and
                       browser (user agent) it was opened from
security-events.ndjson one JSON object per line, oldest first: what happened to your
                       account (sign-ins, failed attempts, password and role changes, ...).
                       The address and user agent are shown only for events you caused
                       yourself; "initiated_by" says who set each one off
files.json             your uploaded files and avatar: the name you gave each, its type,
                       size, when it was uploaded, and where it is in this archive
files/                 the files themselves, as stored (images re-encoded without their
                       metadata), named by their id
manifest.json          the schema version, when this was made, and how many entries each
                       file holds

Not included, because they are secrets or belong to other people: your password (only
its hash is kept, and not exported), your authenticator app's secret, your recovery codes,
passkey public keys, the details of events (they may name other people), and anything
about events you did not cause yourself beyond what happened and when.
`;

// Entry names are the file's id and its type's extension, never the name the user gave:
// an archive tool extracting it cannot be steered outside its folder.
const archivePath = (file: FileInfo): string => `files/${file.id}.${defaultExtension(file.mediaType)}`;

function addFiles(zip: ZipFile, deps: ExportDeps, userId: string, files: readonly FileInfo[], mtime: Date): void {
  const listing = files.map((file) => ({ id: file.id, name: file.name, purpose: file.purpose, media_type: file.mediaType, size_bytes: file.sizeBytes, uploaded_at: file.createdAt.toISOString(), path: archivePath(file) }));
  zip.addBuffer(Buffer.from(`${JSON.stringify({ schema_version: EXPORT_SCHEMA_VERSION, files: listing }, null, 2)}\n`), 'files.json', { mtime });
  for (const file of files) {
    zip.addReadStreamLazy(archivePath(file), { mtime: file.createdAt }, (ready) => {
      readOwnFile({ db: deps.db, keyring: deps.keyring, store: deps.fileStore }, userId, { fileId: file.id }).then(
        (content) => { ready(null, Readable.from(content === null ? [] : [content.bytes])); },
        (error: unknown) => { ready(error instanceof Error ? error : new Error('file unreadable'), Readable.from([])); },
      );
    });
  }
}

/**
 * The archive for one account, as a stream; null when the account does not exist (or its
 * data key is gone). Nothing is read from the long tables before the stream is pulled.
 */
export async function exportAccount(deps: ExportDeps, userId: string): Promise<Readable | null> {
  const profile = await profileOf(deps, userId);
  if (profile === null) return null;
  const secondFactors = await secondFactorsOf(deps, userId);
  const files = await listOwnFiles(deps, userId);
  const generatedAt = deps.clock();
  const mtime = generatedAt;
  const sessions: Counted = { count: 0 };
  const events: Counted = { count: 0 };
  const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  const zip = new (await yazl()).ZipFile();
  zip.addBuffer(Buffer.from(README(generatedAt.toISOString())), 'README.txt', { mtime });
  zip.addBuffer(json({ schema_version: EXPORT_SCHEMA_VERSION, ...profile }), 'profile.json', { mtime });
  zip.addBuffer(json({ schema_version: EXPORT_SCHEMA_VERSION, ...secondFactors }), 'second-factors.json', { mtime });
  zip.addReadStreamLazy('sessions.ndjson', { mtime }, (ready) => {
    ready(null, Readable.from(sessionLines(deps, userId, sessions)));
  });
  zip.addReadStreamLazy('security-events.ndjson', { mtime }, (ready) => {
    ready(null, Readable.from(eventLines(deps, userId, events)));
  });
  addFiles(zip, deps, userId, files, mtime);
  // Reached only once the streams before it are written: the counts are final.
  zip.addReadStreamLazy('manifest.json', { mtime }, (ready) => {
    const manifest = {
      schema_version: EXPORT_SCHEMA_VERSION,
      generator: 'gatehouse',
      generated_at: generatedAt.toISOString(),
      user_id: userId,
      files: { 'profile.json': 1, 'second-factors.json': 1, 'sessions.ndjson': sessions.count, 'security-events.ndjson': events.count, 'files.json': 1, 'files/': files.length },
    };
    ready(null, Readable.from([json(manifest)]));
  });
  zip.end();
  // yazl reports an entry's failure (a query that failed midway) on the ZipFile, not on
  // its output: the response is cut, never left hanging, and the process never crashes
  // on an unhandled 'error'.
  const output = new PassThrough();
  zip.on('error', (error: unknown) => {
    output.destroy(error instanceof Error ? error : new Error('export failed'));
  });
  zip.outputStream.pipe(output);
  return output;
}
