// A bound on how many Argon2id computations run at once. Each holds its full memory cost
// (19 MiB by default) for its whole run, and more runs than cores only time-slice the
// same cores: the process's peak memory grows by one block per extra run, each run takes
// longer, and the event loop and the database compete with them for CPU. With at most
// one run per core, the rest queue here in arrival order (FIFO, so no request starves)
// and wait without holding memory. Verifications of real and dummy hashes share the one
// queue, so the wait reveals nothing about which accounts exist.
import { availableParallelism } from 'node:os';

export type Derive<A extends unknown[], R> = (...args: A) => Promise<R>;

/** Runs at most `slots` calls of `fn` at a time; the others wait their turn. */
export function limitConcurrency<A extends unknown[], R>(fn: Derive<A, R>, slots: number): Derive<A, R> {
  if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError('slots must be a positive integer');
  const waiting: (() => void)[] = [];
  let running = 0;
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) running -= 1;
    else next();
  };
  return async (...args) => {
    if (running < slots) running += 1;
    else await new Promise<void>((resolve) => { waiting.push(resolve); });
    try {
      return await fn(...args);
    } finally {
      release();
    }
  };
}

/**
 * One hash per core the process may use, shared among the `workers` processes of one
 * `gatehouse serve` (WORKERS): each gets its part, rounded up, so the tree as a whole
 * runs about one hash per core instead of one per core in every worker.
 */
export function defaultHashSlots(workers = 1, cores: number = availableParallelism()): number {
  if (!Number.isSafeInteger(workers) || workers < 1) throw new RangeError('workers must be a positive integer');
  return Math.max(1, Math.ceil(cores / workers));
}
