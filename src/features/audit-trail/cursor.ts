// Page cursors: the seq of the last record on the page, base64url-encoded. Opaque to
// clients so the encoding can change; decoding accepts only what encoding produces, so a
// crafted cursor is a 400, never a query on something else.
import { AppError } from '../../core/errors.ts';

const DECIMAL = /^[1-9][0-9]{0,15}$/;

export function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

/** The seq a page continues below; `null` for the first page. */
export function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(seq) || encodeCursor(seq) !== cursor) {
    throw new AppError('invalid_request', { detail: 'malformed cursor', fields: [{ field: '/querystring/cursor', rule: 'cursor' }] });
  }
  return seq;
}

/** The cursor for the page after `rows` (fetched with one row more than the limit), or null at the end. */
export function nextCursor(rows: readonly { readonly seq: number }[], limit: number): string | null {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return last === undefined ? null : encodeCursor(last.seq);
}
