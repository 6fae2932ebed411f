// Work done after the response: mail, and the parts of registration and recovery that
// must not show in response time. Bounded, so a flood cannot queue unlimited work; a
// full queue is refused up front and the caller answers 503.
import { outsideTransaction } from './db/transaction-scope.ts';
import type { Logger } from './logging.ts';

export interface Background {
  /** Schedules `task`; false when the queue is full (nothing was scheduled). */
  run(name: string, task: () => Promise<void>): boolean;
  /** Resolves when every scheduled task has finished (tests, graceful shutdown). */
  drain(): Promise<void>;
}

export function createBackground(deps: { log: Logger; maxPending: number }): Background {
  const pending = new Set<Promise<void>>();
  return {
    run(name, task) {
      if (pending.size >= deps.maxPending) {
        deps.log.warn({ task: name, pending: pending.size }, 'background queue full');
        return false;
      }
      // Never part of a transaction that happens to be open where it was scheduled.
      const running: Promise<void> = outsideTransaction(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(task)
        .catch((error: unknown) => {
          deps.log.error({ err: error, task: name }, 'background task failed');
        })
        .finally(() => pending.delete(running));
      pending.add(running);
      return true;
    },
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
