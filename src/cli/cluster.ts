// WORKERS > 1: `gatehouse serve` becomes a primary that has done once what must happen
// once (migrations, the system and signing keys, the bootstrap admin, the web build: in a
// forked process of its own, cluster-prepare.ts, so the primary never loads the server),
// then forks that many workers with node:cluster. Each worker is the normal serve path
// (serve.ts); the primary hands them the connections of the one listening port, restarts
// one that dies, serves METRICS_PORT with the sum of their metrics, passes SIGHUP on,
// and on SIGTERM or SIGINT has every worker drain and exits when the last has.
// Workers share nothing but PostgreSQL and Redis: jobs and scheduled runs are claimed in
// the database, rate limits counted in Redis (in memory without REDIS_URL: per worker).
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/logging.ts';
import { startMetricsListener, type MetricsListener } from '../features/metrics/listener.ts';
import { isMessage, PREPARATION_ENV, READY_MESSAGE, SHUTDOWN_MESSAGE } from './cluster-worker.ts';

/** Restart backoff: 250 ms, doubled for each crash in a row, at most 30 s. */
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that served this long before it died starts the backoff over. */
const STABLE_AFTER_MS = 30_000;

interface Slot {
  worker: Worker | null;
  readyAt: number | null;
  crashes: number;
  restart: NodeJS.Timeout | null;
}

/**
 * Runs cluster-prepare.ts in a forked process (the worker code path, told by its
 * environment) and waits for it; throws unless it succeeded.
 */
async function prepareInChild(log: Logger): Promise<void> {
  const child = cluster.fork({ [PREPARATION_ENV]: '1' });
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  if (code !== 0) {
    log.error({ code, signal }, 'the preparation before the workers failed');
    throw new Error('the preparation before the workers failed (migrations, keys, bootstrap admin or web build): see the lines above');
  }
}

/** METRICS_PORT on the primary: each scrape asks every worker for its registry and sums them (prom-client). */
async function startClusterMetrics(config: Config, log: Logger): Promise<MetricsListener | null> {
  const port = config.administration.metricsPort;
  if (port === null) return null;
  const aggregator = new AggregatorRegistry();
  const listener = await startMetricsListener({ registry: { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType }, port, log });
  log.info({ address: listener.address.address, port: listener.address.port }, 'metrics listening (the sum of every worker)');
  return listener;
}

export async function serveCluster(config: Config, log: Logger): Promise<void> {
  // The workers (and the preparation) run with the primary's Node flags
  // (src/process-tuning.ts); its environment (MALLOC_ARENA_MAX) they inherit.
  cluster.setupPrimary({ execArgv: process.execArgv });
  await prepareInChild(log);
  const metrics = await startClusterMetrics(config, log);
  const slots: Slot[] = Array.from({ length: config.workers }, () => ({ worker: null, readyAt: null, crashes: 0, restart: null }));
  const live = (): Worker[] => slots.flatMap((slot) => (slot.worker === null ? [] : [slot.worker]));
  let started = false;
  let stopping = false;
  let failed = false;
  let deadline: NodeJS.Timeout | null = null;

  const finish = (): void => {
    if (deadline !== null) clearTimeout(deadline);
    void (metrics?.close() ?? Promise.resolve()).then(() => {
      if (failed) log.error('workers stopped after a failure');
      else log.info('shut down cleanly');
      process.exitCode = failed ? 1 : 0;
    });
  };

  const shutDown = (reason: string): void => {
    stopping = true;
    log.info({ reason, workers: live().length }, 'shutting down the workers');
    for (const slot of slots) {
      if (slot.restart !== null) clearTimeout(slot.restart);
      slot.restart = null;
      const worker = slot.worker;
      if (worker === null) continue;
      // A worker still starting has not installed its handlers: the signal ends it.
      if (slot.readyAt !== null && worker.isConnected()) worker.send({ type: SHUTDOWN_MESSAGE });
      else worker.process.kill('SIGTERM');
    }
    deadline = setTimeout(() => {
      log.error({ workers: live().map((worker) => worker.process.pid) }, 'shutdown deadline passed: killing the workers still running');
      for (const worker of live()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    if (live().length === 0) finish();
  };

  const exited = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    slot.worker = null;
    const fields = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (stopping) {
      if (code !== 0) failed = true;
      if (code !== 0) log.error(fields, 'worker did not shut down cleanly');
      if (live().length === 0) finish();
      return;
    }
    if (!started) {
      // A start that fails (a taken port, an unreachable database) would fail again.
      log.error(fields, 'a worker failed to start: stopping');
      failed = true;
      shutDown('worker start failed');
      return;
    }
    if (slot.readyAt !== null && Date.now() - slot.readyAt >= STABLE_AFTER_MS) slot.crashes = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** slot.crashes);
    slot.crashes += 1;
    log.error({ ...fields, restart_in_ms: delay }, 'worker exited unexpectedly: restarting it');
    slot.restart = setTimeout(() => {
      slot.restart = null;
      fork(slot);
    }, delay);
  };

  const fork = (slot: Slot): void => {
    // Never a preparation, whatever the operator's environment holds (cluster-worker.ts).
    const worker = cluster.fork({ [PREPARATION_ENV]: '' });
    slot.worker = worker;
    slot.readyAt = null;
    worker.on('message', (message: unknown) => {
      if (!isMessage(message, READY_MESSAGE)) return;
      slot.readyAt = Date.now();
      if (started || !slots.every((each) => each.readyAt !== null)) return;
      started = true;
      log.info({ workers: slots.length, pids: live().map((each) => each.process.pid) }, 'workers listening');
    });
    worker.on('exit', (code, signal) => { exited(slot, worker, code, signal); });
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      for (const worker of live()) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    shutDown(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (config.tls !== null) {
    // A worker still starting reads the new certificate anyway (and has no handler yet).
    process.on('SIGHUP', () => {
      for (const slot of slots) if (slot.readyAt !== null) slot.worker?.process.kill('SIGHUP');
    });
  }
  if (config.redisURL === null) log.warn({ workers: config.workers }, 'REDIS_URL unset: each worker counts the rate limits on its own, so clients get WORKERS times the budgets');
  log.info({ workers: config.workers }, 'starting workers');
  for (const slot of slots) fork(slot);
}
