// What a file is, decided by its content alone (its magic bytes, read by `file-type`),
// never by its name or the Content-Type the client declared. Those two are only checked
// against the content: a disagreement is refused, since it means the file is not what
// the person uploading it (or a victim tricked into it) believes it is.
//
// Checks, in order:
// 1. the content is one of the allowed types: PNG, JPEG, WebP, PDF, or plain text (valid
//    UTF-8 without control characters) that holds no markup a browser would render or run
//    (HTML, SVG, XML, PHP: a text file "renamed .png" is refused here);
// 2. the content is one type only: no markup or script inside an image or a PDF, no PDF
//    with JavaScript, actions or embedded files, no ZIP archive at the end (the classic
//    polyglots: GIFAR, PDF+ZIP, PNG+HTML);
// 3. the name's extension, if any, and the declared type, if any, name the same type.
import { lazyModule } from '../../core/lazy-module.ts';
import { AppError } from '../../core/errors.ts';

// Loaded by the first upload, not at start.
const fileType = lazyModule(() => import('file-type'));

export const MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'application/pdf', 'text/plain'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
export type ImageType = Extract<MediaType, `image/${string}`>;

export function isImageType(type: MediaType): type is ImageType {
  return type.startsWith('image/');
}

/** Why an upload was refused, for the metric (a fixed word, never input). */
export type RefusalReason = 'too_large' | 'quota' | 'type_not_allowed' | 'type_mismatch' | 'polyglot' | 'invalid_image' | 'image_too_large';

export class UploadRefused extends AppError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, code: ConstructorParameters<typeof AppError>[0], detail: string) {
    super(code, { detail });
    this.reason = reason;
  }
}

interface TypeFacts {
  /** Name extensions that may carry this type (lowercase, without the dot). */
  readonly extensions: readonly string[];
  /** Content-Types a client may declare for it, besides application/octet-stream. */
  readonly declared: readonly string[];
}

const FACTS: Readonly<Record<MediaType, TypeFacts>> = {
  'image/png': { extensions: ['png'], declared: ['image/png'] },
  'image/jpeg': { extensions: ['jpg', 'jpeg', 'jpe', 'jfif'], declared: ['image/jpeg', 'image/jpg', 'image/pjpeg'] },
  'image/webp': { extensions: ['webp'], declared: ['image/webp'] },
  'application/pdf': { extensions: ['pdf'], declared: ['application/pdf'] },
  'text/plain': { extensions: ['txt', 'text', 'log', 'md', 'csv'], declared: ['text/plain', 'text/markdown', 'text/csv'] },
};

/** The extension a download is named with when the stored name has none. */
export function defaultExtension(type: MediaType): string {
  return FACTS[type].extensions[0] ?? 'bin';
}

// Sequences a browser's MIME sniffing (WHATWG mimesniff §7.1) or a PHP interpreter treats
// as active content, searched in the whole file, case-insensitively. Each is five or more
// fixed bytes (a tag name must be followed by a delimiter), so compressed image data
// matches one by chance about once in 10^5 files of 5 MiB, not once in a hundred.
const ACTIVE_MARKUP = /<\?php|<!doctype|<\?xml[\s?]|<(?:script|html|svg|iframe|body|head|object|embed|xsl:)[\s>/]/;
// PDF names that run code, act on opening or carry other files (ISO 32000-1 §12.6, §7.11.4).
// The short ones (/JS, /AA) are not searched: in compressed streams they would match by
// chance. Names inside compressed object streams are not seen either: a PDF is never
// rendered by this server, only sent as an attachment (docs/threat-model.md).
const PDF_ACTIVE = /\/(?:javascript|launch|embeddedfile|richmedia)(?![a-z0-9])/;
// The end-of-central-directory record of a ZIP: an archive reader finds it at the end.
const ZIP_END = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const ZIP_TAIL_WINDOW = 65_557;

function lowerLatin1(bytes: Buffer): string {
  return bytes.toString('latin1').toLowerCase();
}

function findMarkup(text: string): string | null {
  return ACTIVE_MARKUP.exec(text)?.[0] ?? null;
}

function findPDFAction(text: string): string | null {
  return PDF_ACTIVE.exec(text)?.[0] ?? null;
}

// Plain text: valid UTF-8 (an optional BOM), no NUL or other C0/C1 control characters
// besides tab, line feed, form feed and carriage return.
function isPlainText(bytes: Buffer): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    if (control && char !== '\t' && char !== '\n' && char !== '\f' && char !== '\r') return false;
  }
  return true;
}

async function contentType(bytes: Buffer): Promise<MediaType> {
  const detected = await (await fileType()).fileTypeFromBuffer(bytes);
  if (detected === undefined) {
    if (!isPlainText(bytes)) throw new UploadRefused('type_not_allowed', 'file_type_not_allowed', 'neither a known type nor plain text');
    const markup = findMarkup(lowerLatin1(bytes));
    if (markup !== null) throw new UploadRefused('type_not_allowed', 'file_type_not_allowed', `text holding active markup ${markup}`);
    return 'text/plain';
  }
  const allowed = MEDIA_TYPES.find((type) => type === detected.mime);
  if (allowed === undefined) throw new UploadRefused('type_not_allowed', 'file_type_not_allowed', `detected ${detected.mime}`);
  return allowed;
}

function assertOneType(type: MediaType, bytes: Buffer): void {
  if (type === 'text/plain') return;
  const text = lowerLatin1(bytes);
  const markup = findMarkup(text);
  if (markup !== null) throw new UploadRefused('polyglot', 'file_type_mismatch', `${type} holding ${markup}`);
  if (type === 'application/pdf') {
    const action = findPDFAction(text);
    if (action !== null) throw new UploadRefused('polyglot', 'file_type_mismatch', `pdf with ${action}`);
  }
  if (bytes.subarray(Math.max(0, bytes.length - ZIP_TAIL_WINDOW)).includes(ZIP_END)) {
    throw new UploadRefused('polyglot', 'file_type_mismatch', `${type} ending in a zip archive`);
  }
}

/** The extension of a (sanitised) name: what follows its last dot, lowercased; null without one. */
export function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  return dot <= 0 || dot === name.length - 1 ? null : name.slice(dot + 1).toLowerCase();
}

function assertDeclaredMatches(type: MediaType, claims: { readonly name: string; readonly declared: string | null }): void {
  const facts = FACTS[type];
  const extension = extensionOf(claims.name);
  if (extension !== null && !facts.extensions.includes(extension)) {
    throw new UploadRefused('type_mismatch', 'file_type_mismatch', `content ${type}, extension .${extension}`);
  }
  // A part without a Content-Type is text/plain (RFC 7578 §4.4), and the parser says so:
  // a client sending a binary file names its type or application/octet-stream.
  // A media type's parameters (`; charset=utf-8`) do not change what it names.
  const declared = claims.declared?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (declared !== '' && declared !== 'application/octet-stream' && !facts.declared.includes(declared)) {
    throw new UploadRefused('type_mismatch', 'file_type_mismatch', `content ${type}, declared ${declared.slice(0, 100)}`);
  }
}

/**
 * The file's type by its content; throws `UploadRefused` when the type is not allowed,
 * the content is more than one type, or the name or declared type names another.
 */
export async function detectType(bytes: Buffer, claims: { readonly name: string; readonly declared: string | null }): Promise<MediaType> {
  const type = await contentType(bytes);
  assertOneType(type, bytes);
  assertDeclaredMatches(type, claims);
  return type;
}
