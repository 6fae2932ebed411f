// `gatehouse keys rotate-data-keys --user ID | --all [--batch N] [--pause-ms MS]`: gives
// users new data keys after a suspected exposure of the old ones, re-sealing every field
// and destroying the old keys (features/data-keys). Safe while the server serves; `--all`
// is resumable: run it again after an interruption and it continues where it stopped.
// `--pause-ms` waits after each user, to keep the load on a busy database low.
import { setTimeout as sleep } from 'node:timers/promises';
import { UUID_PATTERN } from '../core/crypto/ids.ts';
import { rotateAllDataKeys, rotateUserDataKey } from '../features/data-keys/index.ts';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';

export const MAX_PAUSE_MS = 10_000;

export type RotateDataKeysTarget = { readonly user: string } | { readonly all: true; readonly batchSize: number };

export class RotateDataKeysUsageError extends Error {}

/** Checks the command's options; throws RotateDataKeysUsageError with what is wrong. */
export function parseRotateDataKeysOptions(values: { user?: string | undefined; all?: boolean | undefined; batch?: string | undefined; 'pause-ms'?: string | undefined }): { target: RotateDataKeysTarget; pauseMs: number } {
  const integer = (text: string | undefined, name: string, min: number, max: number, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = /^[0-9]{1,6}$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max)) throw new RotateDataKeysUsageError(`${name} takes an integer from ${min} to ${max}`);
    return value;
  };
  const pauseMs = integer(values['pause-ms'], '--pause-ms', 0, MAX_PAUSE_MS, 0);
  if ((values.user === undefined) === (values.all !== true)) throw new RotateDataKeysUsageError('keys rotate-data-keys takes either --user ID or --all');
  if (values.user !== undefined) {
    if (values.batch !== undefined) throw new RotateDataKeysUsageError('--batch goes with --all');
    const user = values.user.toLowerCase();
    if (!UUID_PATTERN.test(user)) throw new RotateDataKeysUsageError('--user takes a user id (a UUID)');
    return { target: { user }, pauseMs };
  }
  return { target: { all: true, batchSize: integer(values.batch, '--batch', 1, 10_000, 100) }, pauseMs };
}

export async function rotateDataKeysCommand(runtime: Runtime, options: { readonly target: RotateDataKeysTarget; readonly pauseMs: number }, write: (text: string) => void): Promise<number> {
  const { auth } = await createServices(runtime);
  const deps = { db: runtime.database.db, keyring: runtime.keyring, change: auth.change };
  if ('user' in options.target) {
    const result = await rotateUserDataKey(deps, options.target.user);
    if (result.outcome.status !== 'rotated') {
      write(`user ${options.target.user} has no data key (no such user, or erased): nothing rotated (run ${result.rotationId})\n`);
      return 1;
    }
    write(`user ${options.target.user}: data key ${result.outcome.oldKeyId} replaced by ${result.outcome.newKeyId} (run ${result.rotationId})\n`);
    return 0;
  }
  const pauseMs = options.pauseMs;
  const summary = await rotateAllDataKeys(deps, {
    batchSize: options.target.batchSize,
    ...(pauseMs > 0 ? { hooks: { afterOwner: async () => { await sleep(pauseMs); } } } : {}),
  });
  write(`${summary.resumed ? 'resumed and finished' : 'finished'} run ${summary.rotationId} (keys created before ${summary.startedAt.toISOString()}): ${summary.rotated} data keys rotated, ${summary.skipped} skipped\n`);
  return 0;
}
