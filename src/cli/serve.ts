// `gatehouse serve`: start, and on SIGTERM/SIGINT stop accepting, let in-flight requests
// finish within the deadline, then close pools. A second signal or the deadline exits hard.
import { buildApp } from '../app.ts';
import { startMetricsListener, type MetricsListener } from '../features/metrics/listener.ts';
import { missingTuning } from '../process-tuning.ts';
import type { Runtime } from '../runtime.ts';
import { bootstrapAdmin } from '../features/admin/bootstrap.ts';
import { reloadTLS } from '../core/http/tls.ts';
import { createServices } from '../services.ts';
import { ensureWebBuild } from '../web/build.ts';
import { WEB_ROOT } from '../web/source-hash.ts';

export async function serve(runtime: Runtime): Promise<void> {
  const { config, log } = runtime;
  const services = await createServices(runtime);
  const bootstrap = config.administration.bootstrapAdmin;
  if (bootstrap !== null) {
    const outcome = await bootstrapAdmin(services.auth, bootstrap);
    if (outcome === 'created') log.info('bootstrap admin created');
    // Never promoted: see bootstrap.ts. The operator creates the admin with the CLI instead.
    if (outcome === 'email_taken') log.error('BOOTSTRAP_ADMIN_EMAIL belongs to an existing non-admin account; no admin was created');
  }
  // Before listening: the first request must find the app as its sources are now.
  const web = await ensureWebBuild({ root: WEB_ROOT, log });
  const app = await buildApp({ ...runtime, services, webApp: web.dist === null ? null : { dist: web.dist } });
  // Opened before the public port, so a taken METRICS_PORT stops the start before any
  // traffic arrives.
  const metricsPort = config.administration.metricsPort;
  const metricsListener: MetricsListener | null =
    metricsPort === null ? null : await startMetricsListener({ registry: services.metrics.registry, port: metricsPort, log });
  app.addHook('onClose', async () => {
    await metricsListener?.close();
    // After the requests, so a job they enqueued (a webhook, a mail) is either done or
    // left queued for the next instance.
    await services.jobs.stop();
    await services.scheduler.stop();
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
  services.jobs.start();
  services.scheduler.start();
  log.info({ url: config.publicURL, engine: runtime.database.engine, env: config.environment }, 'gatehouse listening');
  const missing = missingTuning(process.execArgv, process.env, runtime.database.engine);
  if (missing.length > 0) log.warn({ missing }, 'started without the memory tuning of docs/operations.md: expect a larger resident set');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
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
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A renewed certificate is picked up without a restart: `kill -HUP`.
  const tls = config.tls;
  if (tls !== null) {
    process.on('SIGHUP', () => {
      void reloadTLS(app.server, tls, log);
    });
  }
}
