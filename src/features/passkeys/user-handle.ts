// The WebAuthn user handle (§5.4.3 `user.id`) of an account: the 16 bytes of its UUID.
// It is opaque (no email, no name, as §14.6.1 asks), fixed for the account's life, and
// returned by discoverable credentials in every assertion, which is how passwordless
// login learns whose credential answered and checks the credential really is theirs.

// Any UUID as PostgreSQL prints it, whatever its version: the ids are the database's.
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The user handle bytes of an account id. */
export function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  if (!UUID_TEXT.test(userId)) throw new RangeError('a user id is a UUID');
  return new Uint8Array(Buffer.from(userId.replaceAll('-', ''), 'hex'));
}

/** The base64url form, as assertions carry it in `response.userHandle`. */
export function encodedUserHandleOf(userId: string): string {
  return Buffer.from(userHandleOf(userId)).toString('base64url');
}
