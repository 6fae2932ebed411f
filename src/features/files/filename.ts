// A file's original name is kept only as metadata to show and to name a download: it
// never becomes a path. What is kept is its last path segment (both `/` and `\`), in
// Unicode NFC, without control, format or bidirectional-override characters (which can
// make `evil<U+202E>gnp.exe` display as `evilexe.png`), without leading dots or trailing dots
// and spaces (Windows drops those), at most 200 characters; an empty result is `file`.
import { defaultExtension, extensionOf, type MediaType } from './detect-type.ts';

const MAX_NAME_LENGTH = 200;
// Cc (controls), Cf (format: bidi overrides and isolates, zero-width characters), Zl, Zp,
// lone surrogates and unassigned code points never belong in a file name.
const UNWANTED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}]/gu;

export function sanitizeFilename(raw: string): string {
  const lastSegment = raw.split(/[/\\]/).at(-1) ?? '';
  const cleaned = lastSegment
    .toWellFormed()
    .normalize('NFC')
    .replace(UNWANTED, '')
    .replace(/\s+/gu, ' ')
    .replace(/^[\s.]+/u, '')
    .replace(/[\s.]+$/u, '');
  // Cut by code points, never inside a surrogate pair.
  const cut = Array.from(cleaned).slice(0, MAX_NAME_LENGTH).join('').replace(/[\s.]+$/u, '');
  return cut === '' ? 'file' : cut;
}

/** The name a download is given: the stored name, with the detected type's extension when it has none. */
export function downloadName(name: string, type: MediaType): string {
  return extensionOf(name) === null ? `${name}.${defaultExtension(type)}` : name;
}

// RFC 5987 / 8187 `attr-char`: everything else is percent-encoded as UTF-8.
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `attachment` with the name twice (RFC 6266 §4.3): `filename*` in UTF-8 for clients that
 * read it, and an ASCII `filename` for the others, where anything outside printable
 * ASCII, a quote or a backslash becomes `_`. A name can never break out of the header.
 */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7E]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(name)}`;
}
