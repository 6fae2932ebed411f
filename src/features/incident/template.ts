// The reviewed template of a breach notification (GDPR art. 34; docs/incident-notification.md).
// A file: front-matter (subject and the organisation's fields), then a plain-text body
// with four headed sections, the content art. 34(2) asks for. What a template may say is
// checked before anyone is mailed, so a mistake refuses the campaign instead of reaching
// thousands of people:
// - the subject is fixed text (no placeholder), one line, no control character: nothing
//   about a recipient can reach a header;
// - the body uses only the placeholders below; an unknown one or a stray brace is refused;
// - the four sections are present, in order, each with text;
// - sizes are bounded.
// A recipient's name is inserted once, as text (one pass: what it contains is never read
// as a placeholder), with its line breaks and other control characters made spaces, so
// it cannot add a line or a section to the message.
import { createHash } from 'node:crypto';

export const MAX_TEMPLATE_BYTES = 16 * 1024;
export const MAX_SUBJECT_LENGTH = 150;
export const MAX_FIELD_LENGTH = 300;
export const MAX_NAME_LENGTH = 100;
const MAX_PLACEHOLDERS = 40;

/** The sections art. 34(2) (with 33(3)(b)–(d)) asks for, as `## ` headings, in this order. */
export const REQUIRED_SECTIONS = ['What happened', 'What data was involved', 'What we did', 'What you should do'] as const;

const FIELDS = ['organisation', 'incident_date', 'support_url', 'contact'] as const;
type Field = (typeof FIELDS)[number];
const OPTIONAL_FIELDS = ['name_fallback'] as const;
/** Every placeholder a body may use. */
export const PLACEHOLDERS = ['name', ...FIELDS] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

export interface NotificationTemplate {
  /** SHA-256 (hex) of the file as read: what identifies the campaign. */
  readonly sha256: string;
  readonly subject: string;
  readonly fields: Readonly<Record<Field, string>>;
  readonly nameFallback: string;
  readonly body: string;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

// Controls (C0, C1, DEL), format characters (bidi overrides and isolates, which make
// text display in another order than it reads; zero-width characters), line and
// paragraph separators, lone surrogates, unassigned code points.
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}]/u;
const CONTROL_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}]/gu;
// The body may hold line breaks and tabs, and format characters other than bidi controls (emoji sequences use ZWJ).
const BODY_CONTROL = /(?![\n\t])[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

function fail(message: string): never {
  throw new TemplateError(message);
}

function decode(bytes: Uint8Array): string {
  if (bytes.byteLength > MAX_TEMPLATE_BYTES) fail(`the template is larger than ${MAX_TEMPLATE_BYTES} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return fail('the template is not UTF-8 text');
  }
}

function frontMatter(lines: readonly string[]): { readonly values: Map<string, string>; readonly bodyStart: number } {
  if (lines[0] !== '---') fail('the template must start with a front-matter block between two "---" lines');
  const end = lines.indexOf('---', 1);
  if (end < 0) fail('the front-matter block is not closed by a "---" line');
  const values = new Map<string, string>();
  for (const [offset, line] of lines.slice(1, end).entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([a-z_]{1,32}):(.*)$/s.exec(line);
    if (match === null) fail(`front-matter line ${offset + 2} is not "key: value"`);
    const [, key = '', raw = ''] = match;
    if (!(['subject', ...FIELDS, ...OPTIONAL_FIELDS] as readonly string[]).includes(key)) fail(`unknown front-matter field "${key}"`);
    if (values.has(key)) fail(`front-matter field "${key}" is given twice`);
    values.set(key, raw.trim());
  }
  return { values, bodyStart: end + 1 };
}

function checkValue(key: string, value: string | undefined, max: number): string {
  if (value === undefined || value === '') fail(`front-matter field "${key}" is missing or empty`);
  if (CONTROL.test(value)) fail(`front-matter field "${key}" contains a line break or another control character`);
  if (Array.from(value).length > max) fail(`front-matter field "${key}" is longer than ${max} characters`);
  return value;
}

function checkSubject(value: string | undefined): string {
  const subject = checkValue('subject', value, MAX_SUBJECT_LENGTH);
  if (subject.includes('{{') || subject.includes('}}')) fail('the subject is fixed text: it may not hold a placeholder');
  return subject;
}

function checkURL(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('support_url is not a URL');
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') fail('support_url must be an https URL without credentials');
  return value;
}

function checkPlaceholders(body: string): void {
  let count = 0;
  for (const match of body.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) fail(`unknown placeholder {{${name.slice(0, 40)}}}; allowed: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`);
    count += 1;
  }
  if (count > MAX_PLACEHOLDERS) fail(`more than ${MAX_PLACEHOLDERS} placeholders`);
  const rest = body.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) fail('a "{{" or "}}" that is not a placeholder');
  if (!/\{\{\s*contact\s*\}\}/.test(body)) fail('the body must give the contact point ({{contact}}): art. 33(3)(b)');
}

const normalizeTitle = (title: string): string => title.trim().replace(/\s+/g, ' ').toLowerCase();

function checkSections(lines: readonly string[]): void {
  const headings = lines.flatMap((line, index) => (/^#{1,6} /.test(line) ? [{ index, level2: line.startsWith('## '), title: normalizeTitle(line.replace(/^#+ /, '')) }] : []));
  let previous = -1;
  for (const required of REQUIRED_SECTIONS) {
    const found = headings.filter((heading) => heading.level2 && heading.title === normalizeTitle(required));
    const [heading] = found;
    if (heading === undefined) fail(`the body lacks the section "## ${required}"`);
    if (found.length > 1) fail(`the section "## ${required}" appears twice`);
    if (heading.index < previous) fail(`the section "## ${required}" is out of order (${REQUIRED_SECTIONS.join(', ')})`);
    previous = heading.index;
    const next = headings.find((other) => other.index > heading.index)?.index ?? lines.length;
    if (lines.slice(heading.index + 1, next).every((line) => line.trim() === '')) fail(`the section "## ${required}" is empty`);
  }
}

/** Parses and checks a template file; throws TemplateError saying what is wrong. */
export function parseTemplate(bytes: Uint8Array): NotificationTemplate {
  const text = decode(bytes).replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  const { values, bodyStart } = frontMatter(lines);
  const subject = checkSubject(values.get('subject'));
  const fields = {
    organisation: checkValue('organisation', values.get('organisation'), MAX_FIELD_LENGTH),
    incident_date: checkValue('incident_date', values.get('incident_date'), MAX_FIELD_LENGTH),
    support_url: checkURL(checkValue('support_url', values.get('support_url'), MAX_FIELD_LENGTH)),
    contact: checkValue('contact', values.get('contact'), MAX_FIELD_LENGTH),
  };
  const nameFallback = values.has('name_fallback') ? checkValue('name_fallback', values.get('name_fallback'), MAX_NAME_LENGTH) : 'customer';
  const bodyLines = lines.slice(bodyStart);
  const body = bodyLines.join('\n').trim();
  if (body === '') fail('the template has no body');
  if (BODY_CONTROL.test(body)) fail('the body contains a control character (only line breaks and tabs are allowed)');
  checkPlaceholders(body);
  checkSections(bodyLines);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), subject, fields, nameFallback, body: `${body}\n` };
}

/** A stored name as text for the body: one line, no control characters, bounded. */
export function plainName(name: string | null, fallback: string): string {
  const flat = (name ?? '').replace(CONTROL_ALL, ' ').replace(/\s+/g, ' ').trim();
  const bounded = Array.from(flat).slice(0, MAX_NAME_LENGTH).join('').trim();
  return bounded === '' ? fallback : bounded;
}

/** The subject and text of one recipient's mail. */
export function renderNotification(template: NotificationTemplate, recipient: { readonly name: string | null }): { readonly subject: string; readonly text: string } {
  const values: Record<Placeholder, string> = { ...template.fields, name: plainName(recipient.name, template.nameFallback) };
  // One pass with a function: a replacement is never scanned again, and `$&`-style
  // patterns in a value mean nothing.
  const text = template.body.replace(PLACEHOLDER, (_match, key: string) => values[key as Placeholder]);
  return { subject: template.subject, text };
}
