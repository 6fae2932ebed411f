// One error type for everything the server says on purpose. The `code` is a public
// contract (documented in docs/errors.md, never renamed); the `title` is fixed and vague;
// the `detail` is for logs only and never leaves the process.

export const ERROR_CODES = {
  invalid_request: { status: 400, title: 'The request is invalid.' },
  weak_password: { status: 400, title: 'The password does not meet the password policy.' },
  invalid_link: { status: 400, title: 'The link is invalid or has expired.' },
  invalid_credentials: { status: 401, title: 'The email or password is incorrect.' },
  invalid_token: { status: 401, title: 'The token is invalid or has expired.' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used. Sign in again.' },
  invalid_mfa_code: { status: 401, title: 'The second-factor code or key is incorrect.' },
  reauthentication_required: { status: 401, title: 'Confirm it is you: authenticate again to do this.' },
  mfa_enrollment_required: { status: 403, title: 'Set up a second factor before doing anything else.' },
  mfa_required: { status: 403, title: 'This needs a session signed in with a second factor.' },
  csrf_rejected: { status: 403, title: 'The request was refused: it did not come from this site.' },
  email_not_verified: { status: 403, title: 'Confirm your email address before logging in.' },
  account_disabled: { status: 403, title: 'This account is disabled.' },
  password_reset_required: { status: 403, title: 'The password must be reset before signing in.' },
  maintenance_mode: { status: 503, title: 'Sign-in is paused for maintenance. Try again later.' },
  registration_frozen: { status: 503, title: 'Registration is closed for now. Try again later.' },
  unauthorized: { status: 401, title: 'Authentication is required.' },
  forbidden: { status: 403, title: 'You do not have permission to do this.' },
  not_found: { status: 404, title: 'The resource was not found.' },
  method_not_allowed: { status: 405, title: 'The method is not allowed for this resource.' },
  request_timeout: { status: 408, title: 'The request took too long to arrive.' },
  conflict: { status: 409, title: 'The request conflicts with the current state.' },
  last_admin: { status: 409, title: 'The last administrator cannot be removed, disabled or demoted.' },
  built_in_role: { status: 409, title: 'Built-in roles cannot be changed or deleted.' },
  payload_too_large: { status: 413, title: 'The request body is too large.' },
  uri_too_long: { status: 414, title: 'The request URI is too long.' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported.' },
  file_too_large: { status: 413, title: 'The file is larger than the upload limit.' },
  storage_quota_exceeded: { status: 413, title: 'The file would exceed the storage allowed for this account.' },
  file_type_not_allowed: { status: 415, title: 'This type of file is not accepted.' },
  file_type_mismatch: { status: 422, title: 'The file\'s content does not match its name or declared type, or is more than one type of file.' },
  invalid_image: { status: 422, title: 'The image could not be read, or its dimensions are too large.' },
  rate_limited: { status: 429, title: 'Too many requests. Try again later.' },
  headers_too_large: { status: 431, title: 'The request headers are too large.' },
  internal_error: { status: 500, title: 'An internal error occurred.' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable.' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldProblem {
  /** JSON pointer of the offending input, e.g. `/body/email`. Never its value. */
  readonly field: string;
  readonly rule: string;
}

export interface AppErrorOptions {
  /** Private: logged, never sent. */
  readonly detail?: string;
  readonly cause?: unknown;
  readonly fields?: readonly FieldProblem[];
  /** Advice safe to show the user (password feedback); never input values. */
  readonly suggestions?: readonly string[];
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly fields: readonly FieldProblem[];
  readonly suggestions: readonly string[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(options.detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = entry.status;
    this.title = entry.title;
    this.detail = options.detail;
    this.fields = options.fields ?? [];
    this.suggestions = options.suggestions ?? [];
    this.headers = options.headers ?? {};
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** RFC 9457 problem details, the only error shape the server sends. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  request_id: string;
  errors?: FieldProblem[];
  suggestions?: string[];
}

export function toProblem(error: AppError, requestId: string): Problem {
  const problem: Problem = {
    type: `urn:gatehouse:problem:${error.code}`,
    title: error.title,
    status: error.statusCode,
    code: error.code,
    request_id: requestId,
  };
  if (error.fields.length > 0) problem.errors = [...error.fields];
  if (error.suggestions.length > 0) problem.suggestions = [...error.suggestions];
  return problem;
}
