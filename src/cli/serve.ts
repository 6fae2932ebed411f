// `gatehouse serve`: start, and on SIGTERM/SIGINT stop accepting, let in-flight requests
// finish within the deadline, then close pools. A second signal or the deadline exits hard.
// With WORKERS > 1 this runs in each cluster worker (cluster.ts forks them): the primary
// has migrated, bootstrapped and built the web app, serves METRICS_PORT, and decides when
// to stop, so a worker takes its shutdown request and leaves the hard exit to it.
import { buildApp } from '../app.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/logging.ts';
import { startMetricsListener, type MetricsListener } from '../features/metrics/listener.ts';
import { missingTuning } from '../process-tuning.ts';
import type { Runtime } from '../runtime.ts';
import { bootstrapAdmin } from '../features/admin/bootstrap.ts';
import { reloadTLS } from '../core/http/tls.ts';
import { createServices, type Services } from '../services.ts';
import { ensureWebBuild } from '../web/build.ts';
import { preloadGuessability } from '../core/password/guessability.ts';
import { WEB_ROOT } from '../web/source-hash.ts';
import type { WorkerLink } from './cluster-worker.ts';

// Long enough for a rolling restart's first health checks to pass before the build blocks the loop.
const GUESSABILITY_PRELOAD_DELAY_MS = 2_000;

export interface ServeOptions {
  /** Set in a cluster worker (WORKERS > 1); null for a single process. */
  readonly worker: WorkerLink | null;
}

/** BOOTSTRAP_ADMIN_*: once per start (by the cluster's primary when there are workers). */
export async function applyBootstrapAdmin(services: Services, config: Config, log: Logger): Promise<void> {
  const bootstrap = config.administration.bootstrapAdmin;
  if (bootstrap === null) return;
  const outcome = await bootstrapAdmin(services.auth, bootstrap);
  if (outcome === 'created') log.info('bootstrap admin created');
  // Never promoted: see bootstrap.ts. The operator creates the admin with the CLI instead.
  if (outcome === 'email_taken') log.error('BOOTSTRAP_ADMIN_EMAIL belongs to an existing non-admin account; no admin was created');
}

export async function serve(runtime: Runtime, options: ServeOptions = { worker: null }): Promise<void> {
  const { config, log } = runtime;
  const { worker } = options;
  const services = await createServices(runtime);
  if (worker === null) await applyBootstrapAdmin(services, config, log);
  // Before listening: the first request must find the app as its sources are now. In a
  // worker the primary has built it already, and this only finds it fresh.
  const web = await ensureWebBuild({ root: WEB_ROOT, log });
  const app = await buildApp({ ...runtime, services, webApp: web.dist === null ? null : { dist: web.dist } });
  // Opened before the public port, so a taken METRICS_PORT stops the start before any
  // traffic arrives. Workers cannot all bind it: the primary serves their sum.
  const metricsPort = worker === null ? config.administration.metricsPort : null;
  const metricsListener: MetricsListener | null =
    metricsPort === null ? null : await startMetricsListener({ registry: services.metrics.registry, port: metricsPort, log });
  worker?.exposeMetrics(services.metrics.registry);
  app.addHook('onClose', async () => {
    await metricsListener?.close();
    // After the requests, so a job they enqueued (a webhook, a mail) is either done or
    // left queued for the next instance.
    await services.jobs.stop();
    await services.scheduler.stop();
    services.blindIndex.stop();
    await runtime.close();
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // The token-free listener must not outlive a failed start.
    await metricsListener?.close();
    throw error;
  }
  if (metricsListener !== null) log.info({ address: metricsListener.address.address, port: metricsListener.address.port }, 'metrics listening');
  // Every worker runs both: jobs and scheduled runs are claimed in the database, so no
  // two processes run the same one (core/jobs/repo.ts, scheduler.ts).
  services.jobs.start();
  services.scheduler.start();
  services.blindIndex.start();
  log.info({ url: config.publicURL, engine: runtime.database.engine, env: config.environment }, 'gatehouse listening');
  // The password-strength dictionaries (0.2–0.7 s of CPU) are needed only where a password
  // is set: built a moment after start instead of before it, so the start is shorter.
  setTimeout(() => {
    // Not fatal: the first password set tries again.
    preloadGuessability().catch((error: unknown) => { log.warn({ err: error }, 'password dictionaries not loaded'); });
  }, GUESSABILITY_PRELOAD_DELAY_MS).unref();
  const missing = missingTuning(process.execArgv, process.env, runtime.database.engine);
  if (missing.length > 0) log.warn({ missing }, 'started without the memory tuning of docs/operations.md: expect a larger resident set');

  let stopping = false;
  const stop = (signal: NodeJS.Signals | 'primary'): void => {
    if (stopping) {
      // Ctrl-C signals the whole process group, so a worker gets the primary's request
      // as well as the signal: only the primary escalates.
      if (worker !== null) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('shutdown deadline passed: exiting with requests still open');
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    app.close().then(
      () => {
        log.info('shut down cleanly');
        log.flush();
        process.exitCode = 0;
        worker?.detach();
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  worker?.onShutdownRequest(() => { stop('primary'); });
  // A renewed certificate is picked up without a restart: `kill -HUP` (the primary passes
  // it on to every worker).
  const tls = config.tls;
  if (tls !== null) {
    process.on('SIGHUP', () => {
      void reloadTLS(app.server, tls, log);
    });
  }
  // Once the handlers are in place: the primary signals a worker that is not ready yet.
  worker?.announceReady();
}
