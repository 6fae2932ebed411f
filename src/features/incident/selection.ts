// Who a campaign is for: the user ids of a file (one per line), or every active account.
// The file is bounded and every line checked; ids are deduplicated and sorted, so the
// same people in another order are the same campaign.
import { createHash } from 'node:crypto';
import { UUID_PATTERN } from '../../core/crypto/ids.ts';
import { decryptContact } from '../users/index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { mailableAfter, mailableAmong, type MailableAccount } from './repo.ts';

export const MAX_USERS_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_SELECTED_USERS = 500_000;

export type Selection = { readonly kind: 'users'; readonly ids: readonly string[]; readonly duplicates: number } | { readonly kind: 'all' };

export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

/** Parses a users file: UUIDs, one a line; blank lines and `#` comments skipped. Line numbers only in errors, never content. */
export function parseUserIds(bytes: Uint8Array): Selection {
  if (bytes.byteLength > MAX_USERS_FILE_BYTES) throw new SelectionError(`the users file is larger than ${MAX_USERS_FILE_BYTES} bytes`);
  const ids = new Set<string>();
  let listed = 0;
  for (const [index, raw] of Buffer.from(bytes).toString('utf8').split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const id = line.toLowerCase();
    if (!UUID_PATTERN.test(id)) throw new SelectionError(`line ${index + 1} of the users file is not a user id`);
    listed += 1;
    ids.add(id);
    if (ids.size > MAX_SELECTED_USERS) throw new SelectionError(`the users file names more than ${MAX_SELECTED_USERS} users`);
  }
  if (ids.size === 0) throw new SelectionError('the users file names no user');
  return { kind: 'users', ids: [...ids].sort(), duplicates: listed - ids.size };
}

export function selectionSHA256(selection: Selection): string {
  const text = selection.kind === 'all' ? 'all' : `users\n${selection.ids.join('\n')}`;
  return createHash('sha256').update(text).digest('hex');
}

/** One batch of a walk over the selection: the accounts to mail, and the listed ids that cannot be. */
export interface SelectionBatch {
  readonly accounts: readonly MailableAccount[];
  readonly notMailable: readonly string[];
}

export interface SelectionCursor {
  /** The next batch read in `db` (a transaction, for a real run), or null at the end. */
  next(db: DB): Promise<SelectionBatch | null>;
  /** Moves past the batch `next` answered last (once that batch's work has committed). */
  advance(): void;
}

/** Walks the selection in batches of `size`: ids in order, or accounts by id, created by `createdBy`. */
export function walkSelection(selection: Selection, options: { readonly size: number; readonly createdBy: Date }): SelectionCursor {
  let position = 0;
  let after: string | null = null;
  let pending: { readonly position: number; readonly after: string | null } | null = null;
  return {
    async next(db) {
      if (selection.kind === 'users') {
        const ids = selection.ids.slice(position, position + options.size);
        if (ids.length === 0) return null;
        const accounts = await mailableAmong(db, ids);
        const found = new Set(accounts.map((account) => account.id));
        pending = { position: position + ids.length, after: null };
        return { accounts, notMailable: ids.filter((id) => !found.has(id)) };
      }
      const accounts = await mailableAfter(db, { after, createdBy: options.createdBy, limit: options.size });
      if (accounts.length === 0) return null;
      pending = { position: 0, after: accounts.at(-1)?.id ?? null };
      return { accounts, notMailable: [] };
    },
    advance() {
      if (pending === null) return;
      position = pending.position;
      after = pending.after;
      pending = null;
    },
  };
}

/** The address and name of an account, or null when its key is gone. */
export function contactOf(keyring: Keyring, account: MailableAccount): { readonly email: string; readonly name: string | null } | null {
  return decryptContact(keyring, account);
}
