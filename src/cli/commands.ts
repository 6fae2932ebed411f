// Every `gatehouse` command but `serve` (src/main.ts runs that one itself): main.ts loads
// this module only for them, so a server, and above all a WORKERS primary, does not load
// the modules of the one-shot commands.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { describeConfig } from '../config/mask.ts';
import { createLogger } from '../core/logging.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import { createUserCommand } from './users.ts';
import { rotateSigningKeysCommand } from './rotate-signing-keys.ts';
import { parseKid, retireSigningKeyCommand, RetireUsageError, separateKid } from './retire-signing-key.ts';
import { auditPrune, pruneCutoff, PruneUsageError } from './audit-prune.ts';
import { auditVerify, auditVerifyFile } from './audit-verify.ts';
import { rotateMaster } from './keys.ts';
import { DEFAULT_GRACE_SECONDS, rotateBlindIndexCommand } from './rotate-blind-index.ts';
import { rotateAudit } from './rotate-audit-key.ts';
import { parseRotateDataKeysOptions, rotateDataKeysCommand, RotateDataKeysUsageError } from './rotate-data-keys.ts';
import { migrateCommand } from './migrate.ts';
import { listJobsCommand, runJobCommand } from './jobs.ts';
import { createCommand, keygenCommand, ledgerCommand, restoreCommand, verifyCommand } from './backup.ts';
import { BackupError } from '../features/backup/index.ts';
import { doctorCommand } from './doctor/command.ts';
import { DEFAULT_BATCH_SIZE, DEFAULT_RATE_PER_SECOND, notifyCommand, notifyStatusCommand, readInputs } from './incident-notify.ts';
import { forcePasswordResetCommand, parseSwitchState, signOutCommand, statusCommand, switchCommand } from './incident.ts';
import { NotifyError, parseScope, ScopeError, SelectionError, TemplateError, type ContainmentScope } from '../features/incident/index.ts';

export const USAGE = `usage: gatehouse <command>

  serve               start the server (applies pending migrations first)
  migrate [--status]  apply pending migrations, or show their state
  config check        validate the configuration and print it, secrets masked
  doctor [--json] [--strict]
                      run the production checklist against the configuration, database and
                      services; exit 1 when a check fails (with --strict, also when one warns)
  audit verify [--file F]
                      walk the audit chain (or an NDJSON export, offline) and name the first broken record
  audit prune [--before DATE]
                      remove audit records older than DATE (default: now - AUDIT_RETENTION_DAYS),
                      after writing a signed checkpoint; run as the database owner
  keys rotate-master  re-wrap every stored key under the newest master key
  keys rotate-signing make the next signing key active and publish a new next key
  keys retire-signing KID --now
                      withdraw a leaked signing key at once: no token signed by it verifies
                      any more, on any instance, within seconds; a new key signs if it was active
  keys rotate-blind-index [--batch-size N] [--pause-ms N] [--grace-seconds N]
                      re-key every email blind index while serving; run it again to
                      continue a move that was stopped
  keys rotate-audit   hand the audit chain over to a new audit key version (rerun to finish
                      an interrupted rotation)
  keys rotate-data-keys --user ID | --all [--batch N] [--pause-ms MS]
                      give users new data keys: re-seal their fields and destroy the old
                      keys; --all is resumable (run it again to continue)
  backup keygen --out FILE
                      make an age identity for backups (kept offline) and print its recipient
  backup create [--out FILE] [--recipient AGE1 ...]
                      write an encrypted, consistent backup (default: into BACKUP_DIR)
  backup verify FILE --identity KEYFILE
                      decrypt, check and restore into a scratch database; verify the audit chain
  backup restore FILE --identity KEYFILE [--ledger F ...]
                      restore into the configured (empty) database, re-applying later erasures
  backup ledger [--out FILE]
                      write the erasure ledger (for a restore of an older backup)
  jobs list           the scheduled retention purges and when each last ran
  jobs run NAME       run one of them now
  users create --email E [--name N] [--role R ...]
                      create a verified user; the password is read from stdin or a prompt
  incident sign-out --all | --role R | --user ID
                      end every live session of everyone, a role's holders or one user
  incident force-password-reset --all | --role R | --user ID [--notify]
                      require a password reset (login answers password_reset_required),
                      end the users' sessions; --notify mails each one a reset link
  incident freeze-registration on|off
                      registration answers registration_frozen while on
  incident maintenance on|off
                      new logins answer maintenance_mode, except admins with a second factor
  incident status     the containment switches, how many users must reset their password,
                      and the signing keys' states
  incident notify (--users FILE | --all) --template T [--dry-run [--outbox DIR]]
                  [--rate N] [--batch-size N] [--resume CAMPAIGN] [--report FILE]
                      mail a breach notification (GDPR art. 34) from a reviewed template to the
                      listed user ids or every active account, through the mail queue, N mails a
                      second (default ${DEFAULT_RATE_PER_SECOND}); rerun the same command to carry on after a crash;
                      --dry-run writes the mails to the outbox (default DATA_DIR/outbox) only.
                      See docs/incident-notification.md
  incident notify --status CAMPAIGN [--report FILE]
                      a campaign's progress: recipients and the state of each mail
`;

type Command = (argv: readonly string[]) => Promise<number>;

export class UsageError extends Error {}

function integerOption(name: string, text: string | undefined, limits: { min: number; max: number; fallback: number }): number {
  if (text === undefined) return limits.fallback;
  const value = /^[0-9]{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= limits.min && value <= limits.max)) throw new UsageError(`${name} takes an integer from ${limits.min} to ${limits.max}`);
  return value;
}

const out = (text: string): void => {
  process.stdout.write(text);
};

const SCOPE_OPTIONS = { all: { type: 'boolean' }, role: { type: 'string' }, user: { type: 'string' } } as const;

/** --all | --role R | --user ID, exactly one of them (features/incident/scope.ts). */
function scopeOf(values: { all?: boolean | undefined; role?: string | undefined; user?: string | undefined }): ContainmentScope {
  try {
    return parseScope(values);
  } catch (error) {
    if (error instanceof ScopeError) throw new UsageError(error.message);
    throw error;
  }
}

/** The one positional word `on` or `off` of a switch command. */
function switchState(argv: readonly string[], command: string): boolean {
  const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true });
  const state = positionals.length === 1 ? parseSwitchState(positionals[0]) : null;
  if (state === null) throw new UsageError(`${command} takes on or off`);
  return state;
}

/** For a command that takes nothing: any word or flag after it is a usage error, before it does anything. */
function noArguments(argv: readonly string[]): void {
  parseArgs({ args: [...argv], strict: true });
}

export function config(): ReturnType<typeof loadConfig> {
  return loadConfig(process.env);
}

/** Opens the runtime for a one-shot command (migrating first unless told not to). */
async function withRuntime(fn: (runtime: Runtime) => Promise<number>, options: { migrate: boolean } = { migrate: true }): Promise<number> {
  const cfg = config();
  const runtime = await openRuntime(cfg, createLogger({ level: 'warn' }), options);
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

const commands: Record<string, Command> = {
  async migrate(argv) {
    const { values } = parseArgs({ args: [...argv], options: { status: { type: 'boolean' } }, strict: true });
    return migrateCommand(config(), { statusOnly: values.status === true });
  },
  'config check'(argv) {
    noArguments(argv);
    process.stdout.write(`${JSON.stringify(describeConfig(config()), null, 2)}\n`);
    return Promise.resolve(0);
  },
  async doctor(argv) {
    const { values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean' }, strict: { type: 'boolean' } }, strict: true });
    return doctorCommand({
      env: process.env,
      cwd: process.cwd(),
      json: values.json === true,
      strict: values.strict === true,
      write: (text) => process.stdout.write(text),
    });
  },
  async 'audit verify'(argv) {
    const { values } = parseArgs({ args: [...argv], options: { file: { type: 'string' } }, strict: true });
    const file = values.file;
    return withRuntime((runtime) => (file === undefined ? auditVerify(runtime) : auditVerifyFile(runtime, file)), { migrate: false });
  },
  async 'audit prune'(argv) {
    const { values } = parseArgs({ args: [...argv], options: { before: { type: 'string' } }, strict: true });
    const cfg = config();
    let before: Date;
    try {
      before = pruneCutoff(values.before, cfg.administration.auditRetentionDays, new Date());
    } catch (error) {
      if (error instanceof PruneUsageError) throw new UsageError(error.message);
      throw error;
    }
    return withRuntime((runtime) => auditPrune(runtime, before));
  },
  async 'keys rotate-master'(argv) {
    noArguments(argv);
    return rotateMaster(config());
  },
  async 'keys rotate-data-keys'(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: { user: { type: 'string' }, all: { type: 'boolean' }, batch: { type: 'string' }, 'pause-ms': { type: 'string' } },
      strict: true,
    });
    let options: ReturnType<typeof parseRotateDataKeysOptions>;
    try {
      options = parseRotateDataKeysOptions(values);
    } catch (error) {
      if (error instanceof RotateDataKeysUsageError) throw new UsageError(error.message);
      throw error;
    }
    return withRuntime((runtime) => rotateDataKeysCommand(runtime, options, out));
  },
  async 'keys rotate-signing'(argv) {
    noArguments(argv);
    return withRuntime(async (runtime) => {
      const ids = await rotateSigningKeysCommand(runtime);
      process.stdout.write(`signing keys rotated: active ${ids.activeKid}, next ${ids.nextKid}, retired ${ids.retiredKid}\n`);
      return 0;
    });
  },
  async 'keys retire-signing'(argv) {
    const { kids, options } = separateKid(argv);
    const parsed = parseArgs({ args: [...options], options: { now: { type: 'boolean' } }, allowPositionals: true, strict: true });
    const { values } = parsed;
    const positionals = [...kids, ...parsed.positionals];
    const [argument] = positionals;
    if (argument === undefined || positionals.length !== 1) throw new UsageError('keys retire-signing takes one KID and --now');
    // Every token the key signed stops working at once: the flag says the operator means it.
    if (values.now !== true) throw new UsageError('keys retire-signing needs --now (it ends every token the key signed at once; for a calm rotation use keys rotate-signing)');
    let kid: string;
    try {
      kid = parseKid(argument);
    } catch (error) {
      if (error instanceof RetireUsageError) throw new UsageError(error.message);
      throw error;
    }
    return withRuntime((runtime) => retireSigningKeyCommand(runtime, kid, out));
  },
  async 'keys rotate-blind-index'(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: { 'batch-size': { type: 'string' }, 'pause-ms': { type: 'string' }, 'grace-seconds': { type: 'string' } },
      strict: true,
    });
    const input = {
      batchSize: integerOption('--batch-size', values['batch-size'], { min: 1, max: 10_000, fallback: 200 }),
      pauseMs: integerOption('--pause-ms', values['pause-ms'], { min: 0, max: 60_000, fallback: 0 }),
      graceSeconds: integerOption('--grace-seconds', values['grace-seconds'], { min: 0, max: 3_600, fallback: DEFAULT_GRACE_SECONDS }),
    };
    return withRuntime((runtime) => rotateBlindIndexCommand(runtime, input, out));
  },
  async 'keys rotate-audit'(argv) {
    noArguments(argv);
    return withRuntime((runtime) => rotateAudit(runtime, out));
  },
  async 'backup keygen'(argv) {
    const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' } }, strict: true });
    if (values.out === undefined) throw new UsageError('backup keygen needs --out FILE');
    return keygenCommand(values.out, out);
  },
  async 'backup create'(argv) {
    const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' }, recipient: { type: 'string', multiple: true } }, strict: true });
    return createCommand(config(), createLogger({ level: 'warn' }), { out: values.out, recipients: values.recipient ?? [] }, out);
  },
  async 'backup verify'(argv) {
    const { values, positionals } = parseArgs({ args: [...argv], options: { identity: { type: 'string' } }, allowPositionals: true, strict: true });
    const [file] = positionals;
    if (file === undefined || positionals.length !== 1 || values.identity === undefined) throw new UsageError('backup verify takes FILE and --identity KEYFILE');
    return verifyCommand(config(), createLogger({ level: 'warn' }), file, values.identity, out);
  },
  async 'backup restore'(argv) {
    const { values, positionals } = parseArgs({ args: [...argv], options: { identity: { type: 'string' }, ledger: { type: 'string', multiple: true } }, allowPositionals: true, strict: true });
    const [file] = positionals;
    if (file === undefined || positionals.length !== 1 || values.identity === undefined) throw new UsageError('backup restore takes FILE and --identity KEYFILE');
    return restoreCommand(config(), createLogger({ level: 'warn' }), { file, identityFile: values.identity, ledgers: values.ledger ?? [] }, out);
  },
  async 'backup ledger'(argv) {
    const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' } }, strict: true });
    return withRuntime((runtime) => ledgerCommand(runtime, values.out, out), { migrate: false });
  },
  async 'jobs list'(argv) {
    noArguments(argv);
    return withRuntime((runtime) => listJobsCommand(runtime, (text) => process.stdout.write(text)));
  },
  async 'jobs run'(argv) {
    const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true });
    const [name] = positionals;
    if (name === undefined || positionals.length !== 1) throw new UsageError('jobs run takes one job name');
    return withRuntime((runtime) => runJobCommand(runtime, name, (text) => process.stdout.write(text)));
  },
  'incident notify': incidentNotify,
  async 'users create'(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', multiple: true } },
      strict: true,
    });
    if (values.email === undefined) throw new UsageError('--email is required');
    const email = values.email;
    return withRuntime((runtime) => createUserCommand(runtime, { email, name: values.name ?? null, roles: values.role ?? [] }));
  },
  async 'incident sign-out'(argv) {
    const { values } = parseArgs({ args: [...argv], options: SCOPE_OPTIONS, strict: true });
    const scope = scopeOf(values);
    return withRuntime((runtime) => signOutCommand(runtime, scope, out));
  },
  async 'incident force-password-reset'(argv) {
    const { values } = parseArgs({ args: [...argv], options: { ...SCOPE_OPTIONS, notify: { type: 'boolean' } }, strict: true });
    const scope = scopeOf(values);
    return withRuntime((runtime) => forcePasswordResetCommand(runtime, scope, { notify: values.notify === true }, out));
  },
  async 'incident freeze-registration'(argv) {
    const on = switchState(argv, 'incident freeze-registration');
    return withRuntime((runtime) => switchCommand(runtime, 'registration', on, out));
  },
  async 'incident maintenance'(argv) {
    const on = switchState(argv, 'incident maintenance');
    return withRuntime((runtime) => switchCommand(runtime, 'maintenance', on, out));
  },
  async 'incident status'(argv) {
    noArguments(argv);
    return withRuntime((runtime) => statusCommand(runtime, out));
  },
};

function positiveInteger(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,7}$/.test(value)) throw new UsageError(`${flag} takes a whole number`);
  return Number(value);
}

async function incidentNotify(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      users: { type: 'string' }, all: { type: 'boolean' }, template: { type: 'string' }, 'dry-run': { type: 'boolean' }, outbox: { type: 'string' },
      rate: { type: 'string' }, 'batch-size': { type: 'string' }, resume: { type: 'string' }, report: { type: 'string' }, status: { type: 'string' },
    },
    strict: true,
  });
  const io = { out, err: (text: string) => { process.stderr.write(text); } };
  if (values.status !== undefined) {
    const campaign = values.status;
    if (values.users !== undefined || values.all === true || values.template !== undefined || values['dry-run'] === true) throw new UsageError('--status takes only a campaign id (and --report FILE)');
    return withRuntime((runtime) => notifyStatusCommand(runtime, campaign, values.report, io));
  }
  if ((values.users === undefined) === (values.all !== true)) throw new UsageError('incident notify takes either --users FILE or --all');
  if (values.template === undefined) throw new UsageError('incident notify needs --template FILE');
  if (values.outbox !== undefined && values['dry-run'] !== true) throw new UsageError('--outbox goes with --dry-run');
  const input = {
    template: values.template,
    selection: values.users === undefined ? { all: true as const } : { users: values.users },
    dryRun: values['dry-run'] === true,
    rate: positiveInteger(values.rate, DEFAULT_RATE_PER_SECOND, '--rate'),
    batchSize: positiveInteger(values['batch-size'], DEFAULT_BATCH_SIZE, '--batch-size'),
    report: values.report,
    outbox: values.outbox,
    resume: values.resume,
  };
  try {
    // Checked before any database is opened: a refused template or users file changes nothing.
    const inputs = await readInputs(input);
    return await withRuntime((runtime) => notifyCommand(runtime, { ...input, ...inputs }, io));
  } catch (error) {
    const refusal = error instanceof TemplateError ? `template refused: ${error.message}` : error instanceof SelectionError || error instanceof NotifyError ? error.message : null;
    if (refusal === null) throw error;
    process.stderr.write(`gatehouse: incident notify: ${refusal}\n`);
    return 2;
  }
}

/** The command `argv` names (one or two words) and the rest of `argv`; null for none. */
export function resolveCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    // Own names only: `constructor` or `toString` is no command.
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command !== undefined && argv.length >= words) return { command, rest: argv.slice(words) };
  }
  return null;
}

/** A failure a command reports by itself, in one line, with its exit code; null for any other. */
export function commandFailure(error: unknown): { message: string; code: number } | null {
  if (error instanceof UsageError) return { message: `gatehouse: ${error.message}\n${USAGE}`, code: 2 };
  if (error instanceof BackupError) return { message: `gatehouse: backup: ${error.message}\n`, code: 1 };
  return null;
}
