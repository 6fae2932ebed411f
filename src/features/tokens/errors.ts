// Failures of the signing-key store. These are operator problems (a database without
// keys, a row that does not decode), never answers to a client: a client presenting a
// bad token just gets `null` from `verify`.

export type SigningKeyErrorCode = 'no_active_key' | 'corrupt_key';

export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
  readonly code: SigningKeyErrorCode;

  constructor(code: SigningKeyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
