// `gatehouse serve`: start, and on SIGTERM/SIGINT stop accepting, let in-flight requests
// finish within the deadline, then close pools. A second signal or the deadline exits hard.
import { buildApp } from '../app.ts';
import { missingTuning } from '../process-tuning.ts';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';

export async function serve(runtime: Runtime): Promise<void> {
  const { config, log } = runtime;
  const services = await createServices(runtime);
  const app = await buildApp({ ...runtime, services });
  app.addHook('onClose', async () => {
    // In-flight requests are done; let their after-response work (mail) finish too.
    await services.auth.background.drain();
    await services.auth.mailer.drain();
    await runtime.close();
  });
  await app.listen({ host: config.host, port: config.port });
  log.info({ url: config.publicURL, engine: runtime.database.engine, env: config.environment }, 'gatehouse listening');
  const missing = missingTuning(process.execArgv, process.env);
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
}
