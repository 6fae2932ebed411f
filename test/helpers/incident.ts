// For tests of `gatehouse incident notify` as an operator runs it: accounts seeded into the
// installation the command will open (its DATA_DIR's PGlite, or DATABASE_URL), a look at
// that database afterwards, and delivery by a real `gatehouse serve` to its development
// outbox (DATA_DIR/outbox), the mail sink process tests read.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.ts';
import type { DB } from '../../src/core/db/database.ts';
import { createLogger } from '../../src/core/logging.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { makeAccounts, outboxRecipients, type AccountKind } from '../../src/features/incident/incident.fixtures.ts';
import { startServer } from './server-process.ts';

/** `fn` with the installation's runtime open (migrated), closed after: the CLI and `serve` cannot share a PGlite meanwhile. */
export async function withInstallation<T>(env: Record<string, string>, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(loadConfig({ GATEHOUSE_ENV: 'development', ...env }), createLogger({ level: 'silent' }), { migrate: true });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

export function seedAccounts(env: Record<string, string>, kinds: readonly AccountKind[]): Promise<{ readonly id: string; readonly email: string; readonly kind: AccountKind }[]> {
  return withInstallation(env, (runtime) => makeAccounts(runtime.database.db, runtime.keyring, kinds));
}

export function countRows(env: Record<string, string>, fn: (db: DB) => Promise<number>): Promise<number> {
  return withInstallation(env, (runtime) => fn(runtime.database.db));
}

/**
 * Starts `gatehouse serve` on the installation until its outbox holds `expected` mails
 * (and a moment more, for any extra), then stops it; answers the outbox's recipients.
 */
export async function deliverByServe(env: Record<string, string>, expected: number, timeoutMs = 90_000): Promise<string[]> {
  const dataDir = env['DATA_DIR'];
  if (dataDir === undefined) throw new Error('deliverByServe needs DATA_DIR');
  const outbox = join(dataDir, 'outbox');
  const server = await startServer({ env, until: 'ready' });
  try {
    const deadline = Date.now() + timeoutMs;
    while ((await outboxRecipients(outbox)).length < expected && Date.now() < deadline) await sleep(200);
    await sleep(1500);
    server.assertAlive();
    return await outboxRecipients(outbox);
  } finally {
    await server.stop();
  }
}
