// The label a user gives a passkey ("Work laptop"), shown back to them in their list.
// Normalized (NFC, trimmed) and bounded before it reaches the database, whose CHECK
// repeats the bound; control characters are refused so a name cannot break a log line
// or a terminal, and a lone surrogate (not UTF-8, so not storable) is refused here rather
// than by the database.
export const MAX_PASSKEY_NAME_LENGTH = 64;
export const DEFAULT_PASSKEY_NAME = 'Passkey';
// Format characters too (bidi overrides can disguise a name), except the zero-width
// joiner that emoji sequences need.
const CONTROL = /\p{Cc}|(?!\u200D)\p{Cf}|[\u2028\u2029]/u;
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** The name as stored, or null if it cannot be one (empty, too long, control characters). */
export function normalizePasskeyName(input: string): string | null {
  // Bounded before normalization, which may only make it shorter by a small factor.
  if (input.length > MAX_PASSKEY_NAME_LENGTH * 4) return null;
  if (!input.isWellFormed()) return null;
  const name = input.normalize('NFC').trim();
  // PostgreSQL's length() counts code points: a surrogate pair is one.
  const length = name.replace(SURROGATE_PAIR, '_').length;
  if (length === 0 || length > MAX_PASSKEY_NAME_LENGTH || CONTROL.test(name)) return null;
  return name;
}
