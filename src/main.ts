// The `gatehouse` command. Secrets are never read from argv (they would show in `ps`
// and shell history): they come from the environment, *_FILE files, or stdin.
//
// Only what every command needs is imported here. `serve` loads the server when it
// starts one (a WORKERS primary never does: cluster.ts), every other command loads
// cli/commands.ts.
import { loadConfig, ConfigError, formatConfigProblems } from './config/config.ts';
import { DOTENV_FILE, DotEnvError, loadDotEnv } from './config/dotenv.ts';
import { createLogger } from './core/logging.ts';
import { connectWorker, isPreparation } from './cli/cluster-worker.ts';

async function serveCommand(): Promise<number> {
  const cfg = loadConfig(process.env);
  const log = createLogger({ level: cfg.logLevel });
  const worker = connectWorker();
  if (worker === null && cfg.workers > 1) {
    const { serveCluster } = await import('./cli/cluster.ts');
    await serveCluster(cfg, log.child({ role: 'primary' }));
    return 0;
  }
  if (worker !== null && isPreparation()) {
    // The primary's one-time work, in a process of its own (cluster.ts).
    // Detached either way: the IPC channel would keep the process alive, and a failure
    // must end it so the primary hears its exit code.
    try {
      const { prepareOnce } = await import('./cli/cluster-prepare.ts');
      await prepareOnce(cfg, log.child({ role: 'preparation', pid: process.pid }));
    } finally {
      worker.detach();
    }
    return 0;
  }
  const [{ serve }, { openRuntime }] = await Promise.all([import('./cli/serve.ts'), import('./runtime.ts')]);
  // A worker's every line (its requests too) says which worker wrote it.
  const serving = worker === null ? log : log.child({ worker: worker.id, pid: process.pid });
  // A worker's primary has applied the migrations already; a worker still refuses a
  // database whose migrations are not its build's, as a single process would (a worker
  // restarted after another version migrated, or after a restore).
  try {
    await serve(await openRuntime(cfg, serving, worker === null ? { migrate: true } : { migrate: false, requireCurrentSchema: true }), { worker });
  } catch (error) {
    // A worker that cannot serve must end, so that its primary hears it; the IPC channel
    // would keep it alive for good.
    worker?.detach();
    throw error;
  }
  return 0;
}

type Commands = typeof import('./cli/commands.ts');

async function main(argv: readonly string[]): Promise<number> {
  const serving = argv[0] === 'serve';
  if (serving && argv.length > 1) {
    // Its settings come from the environment; `serve --help` must not start a server.
    process.stderr.write(`gatehouse: serve takes no arguments\n${(await import('./cli/commands.ts')).USAGE}`);
    return 2;
  }
  const commands: Commands | null = serving ? null : await import('./cli/commands.ts');
  const found = commands?.resolveCommand(argv) ?? null;
  if (commands !== null && found === null) {
    process.stderr.write(commands.USAGE);
    return 2;
  }
  try {
    // Before any configuration is read; the process environment wins over the file.
    const dotenv = loadDotEnv({ path: DOTENV_FILE, env: process.env, uid: process.getuid?.() });
    for (const warning of dotenv.warnings) process.stderr.write(`gatehouse: warning: ${warning}\n`);
    return found === null ? await serveCommand() : await found.command(found.rest);
  } catch (error) {
    const reported = commands?.commandFailure(error) ?? null;
    if (reported !== null) {
      process.stderr.write(reported.message);
      return reported.code;
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gatehouse: ${error.message}\n${(await import('./cli/commands.ts')).USAGE}`);
      return 2;
    }
    if (error instanceof DotEnvError) {
      process.stderr.write(`gatehouse: refusing ${DOTENV_FILE}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${formatConfigProblems(error)}\n`);
      return 2;
    }
    process.stderr.write(`gatehouse: ${error instanceof Error ? error.message : 'failed'}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
