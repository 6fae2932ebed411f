// The first administrator, from BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD_FILE,
// applied at start only while no active admin exists. An existing account with that
// email is never promoted: anyone could have registered the address first, and would
// then hold admin with a password of their choosing.
import { readFile } from 'node:fs/promises';
import type { BootstrapAdminConfig } from '../../config/config.ts';
import { ADMIN_ROLE } from '../authorization/index.ts';
import { activeAdminIds } from '../authorization/index.ts';
import { createAccount, type CreateAccountDeps } from '../users/index.ts';

export type BootstrapOutcome = 'created' | 'admin_exists' | 'email_taken';

const MAX_PASSWORD_FILE_BYTES = 4096;

async function anyActiveAdmin(deps: CreateAccountDeps): Promise<boolean> {
  return (await activeAdminIds(deps.db, { limit: 1 })).length > 0;
}

async function readPasswordFile(path: string): Promise<string> {
  const raw = await readFile(path);
  if (raw.length > MAX_PASSWORD_FILE_BYTES) throw new Error('BOOTSTRAP_ADMIN_PASSWORD_FILE is too large');
  // Editors end files with a newline that is not part of the password.
  return raw.toString('utf8').replace(/\r?\n$/, '');
}

/** Throws (so the server does not start) when the password file is unreadable or the password is refused. */
export async function bootstrapAdmin(deps: CreateAccountDeps, config: BootstrapAdminConfig): Promise<BootstrapOutcome> {
  if (await anyActiveAdmin(deps)) return 'admin_exists';
  const password = await readPasswordFile(config.passwordFile);
  const result = await createAccount(deps, { email: config.email, name: null, password, roles: [ADMIN_ROLE], emailVerified: true }, {
    actor: { type: 'system', id: 'bootstrap' },
    context: { ip: null, userAgent: 'gatehouse-bootstrap', requestId: null },
  });
  switch (result.kind) {
    case 'created':
      return 'created';
    case 'weak_password':
      throw new Error(`the bootstrap admin password is refused by the password policy (${result.verdict.reasons.join(', ')})`);
    case 'unknown_role':
      throw new Error('the admin role is missing');
    case 'email_taken':
      // Another instance starting at the same moment may have just created it.
      return (await anyActiveAdmin(deps)) ? 'admin_exists' : 'email_taken';
  }
}
