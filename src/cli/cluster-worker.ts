// A cluster worker's side of WORKERS > 1 (cluster.ts is the primary's): it tells the
// primary when it serves, takes the primary's shutdown request, and answers the primary's
// metrics requests (prom-client's AggregatorRegistry) with its own registry.
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** Worker to primary: listening, jobs started. */
export const READY_MESSAGE = 'gatehouse:worker-ready';
/** Primary to worker: drain and exit (SIGTERM or SIGINT reached the primary). */
export const SHUTDOWN_MESSAGE = 'gatehouse:shutdown';
/** Set by the primary in the environment of the one process it forks to prepare (cluster-prepare.ts). */
export const PREPARATION_ENV = 'GATEHOUSE_CLUSTER_PREPARATION';

/** Whether this cluster process is the primary's preparation, not a serving worker. */
export function isPreparation(): boolean {
  return cluster.isWorker && process.env[PREPARATION_ENV] === '1';
}

export interface WorkerLink {
  /** cluster.worker.id: 2..WORKERS+1 at the start (1 was the preparation), then one more for each restarted worker. */
  readonly id: number;
  announceReady(): void;
  onShutdownRequest(handler: () => void): void;
  /** Makes `registry` what this worker answers the primary's metrics requests with. */
  exposeMetrics(registry: Registry): void;
  /** Closes the IPC channel, which would otherwise keep the drained worker alive. */
  detach(): void;
}

export function isMessage(value: unknown, type: string): boolean {
  return typeof value === 'object' && value !== null && 'type' in value && value.type === type;
}

/** The link when this process is a cluster worker; null in a single process. */
export function connectWorker(): WorkerLink | null {
  const worker = cluster.worker;
  if (!cluster.isWorker || worker === undefined) return null;
  return {
    id: worker.id,
    announceReady() {
      process.send?.({ type: READY_MESSAGE });
    },
    onShutdownRequest(handler) {
      process.on('message', (message: unknown) => {
        if (isMessage(message, SHUTDOWN_MESSAGE)) handler();
      });
    },
    exposeMetrics(registry) {
      // Constructing one installs prom-client's listener for the primary's requests.
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([registry]);
    },
    detach() {
      // The graceful way out of a cluster (marks it exitedAfterDisconnect); the process
      // then ends by itself, its last log lines written.
      if (worker.isConnected()) worker.disconnect();
    },
  };
}
