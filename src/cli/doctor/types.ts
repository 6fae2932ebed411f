// The shape of a `gatehouse doctor` check. A check is a small named function that looks at
// one item of the production checklist and answers with a finding: pass, warn or fail
// with one line saying what it saw and, when it is not a pass, the fix (the setting or
// command to use). Skip means "not looked at" (not applicable, or a check it depends on
// could not run) and is never counted, or shown, as a pass.
import type { Config } from '../../config/config.ts';
import type { Env } from '../../config/env-source.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { MasterKey } from '../../core/crypto/master-key.ts';
import type { Database } from '../../core/db/database.ts';
import type { RedisClient } from '../../core/redis.ts';

export type Status = 'pass' | 'warn' | 'fail' | 'skip';

export interface Finding {
  readonly status: Status;
  /** One line; never a secret (settings are named, URLs masked). */
  readonly summary: string;
  /** For warn and fail: the setting or command that fixes it. */
  readonly fix?: string;
}

/** What a check may look at. Resources open on first use and are shared by every check. */
export interface DoctorContext {
  /** The environment the configuration was read from (after .env). */
  readonly env: Env;
  /** The working directory, against which a relative DATA_DIR resolves. */
  readonly cwd: string;
  /** The validated configuration; throws the ConfigError when it is invalid. */
  config(): Config;
  database(): Promise<Database>;
  /** The master keys the server would use (GATEHOUSE_MASTER_KEY, or the development key file), newest first; empty when there is none yet. */
  masterKeys(): Promise<readonly MasterKey[]>;
  /** Throws when there is no master key. */
  keyring(): Promise<Keyring>;
  /** Connected and ready; null when REDIS_URL is unset. */
  redis(): Promise<RedisClient | null>;
  now(): Date;
  /** The user the process runs as (undefined where POSIX ids do not exist). */
  readonly uid: number | undefined;
  readonly nodeVersion: string;
}

export interface Check {
  /** Stable kebab-case name, shown in the report and used in dependsOn. */
  readonly name: string;
  /** Earlier checks that must not have failed or been skipped for this one to run. */
  readonly dependsOn?: readonly string[];
  run(context: DoctorContext): Promise<Finding> | Finding;
}

export interface CheckResult extends Finding {
  readonly name: string;
  /** How long the check took, when it ran. */
  readonly ms: number | null;
}

export function pass(summary: string): Finding {
  return { status: 'pass', summary };
}

export function warn(summary: string, fix: string): Finding {
  return { status: 'warn', summary, fix };
}

export function fail(summary: string, fix: string): Finding {
  return { status: 'fail', summary, fix };
}

export function skip(summary: string): Finding {
  return { status: 'skip', summary };
}

/**
 * A setting the production rules refuse: a failure in production, a warning in
 * development, where it is allowed but must change before going live.
 */
export function unsafe(config: Pick<Config, 'environment'>, summary: string, fix: string): Finding {
  return { status: config.environment === 'production' ? 'fail' : 'warn', summary, fix };
}
