// Every column holding a value sealed under its owner's data key (envelope.ts), in one
// list: a data-key rotation re-seals exactly these, so a column missing here would be
// left sealed under a destroyed key. `sealed-fields.test.ts` fails when a migration adds
// a column named like a sealed one (`*_ciphertext`, `*_sealed`, `*_encrypted`, or a
// bytea) that is neither here nor explained in NOT_SEALED_UNDER_DATA_KEYS, and when a
// source file starts sealing under a data key without its columns being listed.
//
// `context` is the column name inside the field's AAD (envelope.ts FieldContext), which is
// not always the SQL column's name (`users.email_ciphertext` is sealed as `users/email`).

export interface SealedField {
  /** The table, also the AAD's table. */
  readonly table: string;
  /** The SQL column holding the sealed value. */
  readonly column: string;
  /** The column name in the AAD. */
  readonly context: string;
  /** The column naming the owner whose data key seals the value. */
  readonly owner: string;
  /** The column whose value is the AAD's row id. */
  readonly rowId: string;
  /** `text`: encryptField (`f1.` text); `bytes`: encryptBytes (bytea). */
  readonly kind: 'text' | 'bytes';
}

export const SEALED_FIELDS: readonly SealedField[] = [
  // features/users/repo.ts
  { table: 'users', column: 'email_ciphertext', context: 'email', owner: 'id', rowId: 'id', kind: 'text' },
  { table: 'users', column: 'name_ciphertext', context: 'name', owner: 'id', rowId: 'id', kind: 'text' },
  // features/sessions/device.ts
  { table: 'sessions', column: 'ip_sealed', context: 'ip', owner: 'user_id', rowId: 'id', kind: 'text' },
  { table: 'sessions', column: 'user_agent_sealed', context: 'user_agent', owner: 'user_id', rowId: 'id', kind: 'text' },
  // features/mfa/repo.ts
  { table: 'mfa_totp', column: 'secret_ciphertext', context: 'secret', owner: 'user_id', rowId: 'user_id', kind: 'text' },
  // features/files/service.ts (content: in the row, or in FILES_DIR when the row's is empty)
  { table: 'user_files', column: 'name_ciphertext', context: 'name', owner: 'user_id', rowId: 'id', kind: 'text' },
  { table: 'user_files', column: 'content', context: 'content', owner: 'user_id', rowId: 'id', kind: 'bytes' },
];

/**
 * Columns that look sealed (by name or type) but are not under a user's data key, and why.
 * Keyed `table.column`.
 */
export const NOT_SEALED_UNDER_DATA_KEYS: Readonly<Record<string, string>> = {
  'data_keys.wrapped_key': 'the data key itself, wrapped by the master keyring (keys rotate-master)',
  'system_keys.wrapped_key': 'system keys, wrapped by the master keyring',
  'signing_keys.wrapped_private_key': 'signing keys, wrapped by the master keyring',
};
