// `gatehouse doctor [--json] [--strict]`: the production checklist (docs/operations.md
// "Production checklist") against the live configuration, database and services. It
// changes nothing: no migration, no key, no database is created.
import type { Config } from '../../config/config.ts';
import type { Env } from '../../config/env-source.ts';
import { CHECKS } from './checks.ts';
import { openDoctorContext } from './context.ts';
import { formatJSON, formatTable, redactSecrets, secretsOf } from './report.ts';
import { exitCode, runChecks } from './run.ts';
import type { Check } from './types.ts';

export interface DoctorOptions {
  readonly env: Env;
  readonly cwd: string;
  readonly json: boolean;
  /** Warnings fail too. */
  readonly strict: boolean;
  readonly write: (text: string) => void;
  /** The checklist; CHECKS unless a test gives another. */
  readonly checks?: readonly Check[];
}

export async function doctorCommand(options: DoctorOptions): Promise<number> {
  const context = openDoctorContext({ env: options.env, cwd: options.cwd });
  try {
    const results = await runChecks(options.checks ?? CHECKS, context);
    const code = exitCode(results, { strict: options.strict });
    let config: Config | null = null;
    try {
      config = context.config();
    } catch {
      // Invalid: the environment's raw values are what is masked.
    }
    const text = options.json ? formatJSON(results, { strict: options.strict, exitCode: code }) : formatTable(results, { strict: options.strict });
    options.write(redactSecrets(text, secretsOf(options.env, config)));
    return code;
  } finally {
    await context.close();
  }
}
