// Refusals of an audit event before anything touches the database. These are
// programming errors (a secret-looking key, an oversized or non-JSON detail), so they
// surface as a 500 to the client; the message names the field path, never its value.

export type AuditInputProblem =
  | 'forbidden_key'
  | 'details_too_large'
  | 'details_too_deep'
  | 'details_not_json'
  | 'invalid_field'
  | 'not_in_transaction'
  | 'stale_handover';

export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
  readonly code: AuditInputProblem;

  constructor(code: AuditInputProblem, message: string) {
    super(message);
    this.code = code;
  }
}
