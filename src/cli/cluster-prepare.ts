// WORKERS > 1: what must happen once before the workers start (migrations, the system and
// signing keys of a new database, the bootstrap admin, the web build). cluster.ts runs it
// in a process of its own, forked like a worker, so that the primary, which lives as
// long as the server, never loads the server's modules: they stay with this process,
// which exits when it is done.
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/logging.ts';
import { openRuntime } from '../runtime.ts';
import { createServices } from '../services.ts';
import { ensureWebBuild } from '../web/build.ts';
import { WEB_ROOT } from '../web/source-hash.ts';
import { applyBootstrapAdmin } from './serve.ts';

/** What every worker would otherwise race to do. The workers then skip migrations and the bootstrap. */
export async function prepareOnce(config: Config, log: Logger): Promise<void> {
  const runtime = await openRuntime(config, log, { migrate: true });
  try {
    // Creates the system and signing keys of a new database here, not in N workers at once.
    const services = await createServices(runtime);
    await applyBootstrapAdmin(services, config, log);
  } finally {
    await runtime.close();
  }
  await ensureWebBuild({ root: WEB_ROOT, log });
}
