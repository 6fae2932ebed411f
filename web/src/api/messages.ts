// What the user reads for each error code of docs/errors.md (and the client's own two).
// test/web/error-messages.test.ts fails when the server has a code this map lacks. Plain
// data and functions, no DOM: the test imports it in Node.
import type { FieldProblem, Problem } from './problem.ts';

export const ERROR_MESSAGES = {
  invalid_request: 'Some of what you entered is not valid. Check the fields marked below.',
  weak_password: 'Choose a stronger password.',
  invalid_link: 'This link is invalid, was already used, or has expired.',
  invalid_credentials: 'The email or password is incorrect.',
  invalid_token: 'Your sign-in has expired. Please start again.',
  refresh_token_reused: 'For your safety this session was ended. Please sign in again.',
  invalid_mfa_code: 'That code is not correct. Check your authenticator app and try again.',
  reauthentication_required: 'For your safety, confirm it is you before doing this.',
  mfa_enrollment_required: 'Your account needs a second factor (an authenticator app or a passkey) before you can continue.',
  mfa_required: 'This needs a sign-in with your second factor. Sign in again with your authenticator app or passkey.',
  email_not_verified: 'Confirm your email address first: open the link in the message we sent you.',
  account_disabled: 'This account is disabled. Contact your administrator.',
  password_reset_required: 'Your password must be reset before you can sign in. Use "Forgot password" to get a reset link by email.',
  maintenance_mode: 'Signing in is paused for maintenance. You can try again later; if you are already signed in, you stay signed in.',
  registration_frozen: 'New accounts cannot be created right now. Please try again later.',
  unauthorized: 'Please sign in to continue.',
  forbidden: 'You do not have permission to do this.',
  csrf_rejected: 'The request was refused for your safety. Reload the page and try again.',
  not_found: 'We could not find what you were looking for.',
  method_not_allowed: 'This action is not available here.',
  request_timeout: 'The request took too long to arrive. Check your connection and try again.',
  conflict: 'This conflicts with something that already exists.',
  last_admin: 'This would leave no administrator. Make someone else an administrator first.',
  built_in_role: 'Built-in roles cannot be changed or deleted.',
  payload_too_large: 'What you entered is too large to send.',
  uri_too_long: 'The address is too long.',
  unsupported_media_type: 'The server did not accept the request. Reload the page and try again.',
  file_too_large: 'This file is too large. Choose a smaller one.',
  storage_quota_exceeded: 'Your storage is full. Delete some files and try again.',
  file_type_not_allowed: 'This type of file is not accepted. Upload a PNG, JPEG or WebP image, a PDF or a plain text file.',
  file_type_mismatch: 'This file\'s content does not match its name or type. Check that it is the file you meant to upload.',
  invalid_image: 'This image could not be read, or it is too large in pixels.',
  rate_limited: 'Too many attempts. Please wait a little and try again.',
  headers_too_large: 'The request was too large for the server. Reload the page and try again.',
  internal_error: 'Something went wrong on our side. Please try again.',
  service_unavailable: 'The service is briefly unavailable. Please try again in a moment.',
  network_error: 'Could not reach the server. Check your connection and try again.',
  unexpected_response: 'The server sent an unexpected answer. Please try again.',
} as const satisfies Record<string, string>;

/** Messages for the `rule` of a field problem (the schema's keywords and the password policy's reasons). */
const RULE_MESSAGES: Readonly<Record<string, string>> = {
  required: 'This field is required.',
  minLength: 'This field is required.',
  maxLength: 'This is too long.',
  format: 'This is not in the expected format.',
  pattern: 'This is not in the expected format.',
  unicode: 'This contains characters that cannot be used.',
  too_short: 'The password is too short.',
  too_long: 'The password is too long.',
  invalid_unicode: 'The password contains characters that cannot be used.',
  common_password: 'This is a commonly used password.',
  contains_personal_info: 'The password contains your name or email address.',
  too_guessable: 'The password is too easy to guess.',
};

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  // A daily limit (three data exports a day) waits hours: "1440 minutes" says little.
  if (minutes < 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

function hasMessage(code: string): code is keyof typeof ERROR_MESSAGES {
  return Object.hasOwn(ERROR_MESSAGES, code);
}

/** One sentence (or two) for the whole problem. */
export function describeProblem(problem: Problem): string {
  const base = hasMessage(problem.code) ? ERROR_MESSAGES[problem.code] : problem.title || ERROR_MESSAGES.unexpected_response;
  if (problem.code === 'rate_limited' && problem.retryAfter !== null) return `Too many attempts. Try again in ${formatWait(problem.retryAfter)}.`;
  return base;
}

/**
 * The field name a problem points at (`/body/email` → `email`; a search form's
 * `/querystring/action` → `action`), or null for the body as a whole.
 */
export function fieldName(problem: FieldProblem): string | null {
  const match = /^\/(?:body|querystring)\/([^/]+)/.exec(problem.field);
  return match?.[1] ?? null;
}

/** Messages per form field, from the problem's `errors`. */
export function fieldMessages(problem: Problem | null): ReadonlyMap<string, string[]> {
  const messages = new Map<string, string[]>();
  for (const field of problem?.fields ?? []) {
    const name = fieldName(field);
    if (name === null) continue;
    const message = RULE_MESSAGES[field.rule] ?? 'This value is not accepted.';
    const list = messages.get(name) ?? [];
    if (!list.includes(message)) list.push(message);
    messages.set(name, list);
  }
  return messages;
}
