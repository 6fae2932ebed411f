// `gatehouse keys rotate-blind-index [--batch-size N] [--pause-ms N] [--grace-seconds N]`:
// re-keys every user's email blind index while the instances serve
// (features/users/blind-index-rotation.ts, docs/operations.md "Rotating keys"). Running
// it again after a stop (killed, a database restart) continues the move already started;
// running it when no move is under way starts a new rotation.
import { setTimeout as delay } from 'node:timers/promises';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';
import { BLIND_INDEX_RELOAD_MS } from '../core/crypto/blind-index-keys.ts';
import { rotateBlindIndex, type BlindIndexRotationResult } from '../features/users/blind-index-rotation.ts';

// Twice the instances' reload interval, and a margin for a slow reload.
export const DEFAULT_GRACE_SECONDS = Math.ceil((2 * BLIND_INDEX_RELOAD_MS) / 1000) + 5;

const PROGRESS_INTERVAL_MS = 1_000;

export interface RotateBlindIndexInput {
  readonly batchSize: number;
  /** A pause after each batch, to spare a busy database. */
  readonly pauseMs: number;
  readonly graceSeconds: number;
}

export async function rotateBlindIndexCommand(runtime: Runtime, input: RotateBlindIndexInput, write: (text: string) => void): Promise<number> {
  const { auth } = await createServices(runtime);
  let batches = 0;
  let moved = 0;
  let reportedAt = Number.NEGATIVE_INFINITY;
  write(`blind-index rotation: waiting up to ${input.graceSeconds} s after its start for every instance to reload, then re-indexing\n`);
  const result: BlindIndexRotationResult = await rotateBlindIndex(
    { db: runtime.database.db, keyring: runtime.keyring, clock: runtime.clock, change: auth.change },
    {
      batchSize: input.batchSize,
      graceMs: input.graceSeconds * 1000,
      afterBatch: async (count) => {
        batches += 1;
        moved += count;
        // Progress at most once a second (the first batch always), so a long move shows it lives.
        if (Date.now() - reportedAt >= PROGRESS_INTERVAL_MS) {
          reportedAt = Date.now();
          write(`re-indexed ${moved} users so far\n`);
        }
        if (input.pauseMs > 0) await delay(input.pauseMs);
      },
    },
  );
  write(
    `blind-index key ${result.started ? 'rotated' : 'rotation resumed and finished'}: ${result.oldKeyId} -> ${result.newKeyId}; ` +
      `${result.movedNow} users re-indexed by this run in ${batches} batches (${result.movedTotal} in all); the old key is destroyed\n`,
  );
  return 0;
}
