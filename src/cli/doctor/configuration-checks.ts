// The configuration itself: valid under the production rules of config.ts (the same
// rules `serve` enforces at start, not a copy of them), the master key, the public URL
// and CORS.
import { isConfigError, loadConfig, type Config, type ConfigProblem } from '../../config/config.ts';
import type { Env } from '../../config/env-source.ts';
import { fail, pass, unsafe, warn, type Check, type DoctorContext, type Finding } from './types.ts';

function names(problems: readonly ConfigProblem[]): string {
  return [...new Set(problems.map((problem) => problem.name))].join(', ');
}

/** The problems the production rules find in `env`; none when it would start in production. */
export function productionProblems(env: Env, cwd: string): readonly ConfigProblem[] {
  try {
    loadConfig({ ...env, GATEHOUSE_ENV: 'production' }, { cwd });
    return [];
  } catch (error) {
    if (isConfigError(error)) return error.problems;
    throw error;
  }
}

export function judgeConfiguration(facts: { readonly config: Config | null; readonly problems: readonly ConfigProblem[] }): Finding {
  // Rules and names only: a ConfigProblem never carries the value.
  if (facts.config === null) {
    const listed = facts.problems.map((problem) => `${problem.name}: ${problem.rule}`).join('; ');
    return fail(`invalid: ${listed}`, 'fix each named setting (.env.example documents them)');
  }
  if (facts.config.environment !== 'production') {
    const unmet = facts.problems.length === 0 ? 'they would hold' : `they would refuse ${names(facts.problems)}`;
    return warn(
      `GATEHOUSE_ENV is development: the production rules are not enforced (${unmet})`,
      'set GATEHOUSE_ENV=production; `GATEHOUSE_ENV=production gatehouse config check` names the rule for each setting',
    );
  }
  return pass('valid under the production rules (GATEHOUSE_ENV=production)');
}

export const configurationCheck: Check = {
  name: 'configuration',
  run(context) {
    let config: Config;
    try {
      config = context.config();
    } catch (error) {
      if (isConfigError(error)) return judgeConfiguration({ config: null, problems: error.problems });
      throw error;
    }
    const problems = config.environment === 'production' ? [] : productionProblems(context.env, context.cwd);
    return judgeConfiguration({ config, problems });
  },
};

export function judgeMasterKey(config: Pick<Config, 'environment' | 'masterKeys'>): Finding {
  if (config.masterKeys === null) {
    return unsafe(
      config,
      'no GATEHOUSE_MASTER_KEY: the development key in DATA_DIR/master.key wraps every stored key, unencrypted beside the data',
      'set GATEHOUSE_MASTER_KEY (or GATEHOUSE_MASTER_KEY_FILE) to a generated key, then run `gatehouse keys rotate-master`',
    );
  }
  const count = config.masterKeys.length === 1 ? '1 key' : `${config.masterKeys.length} keys`;
  return pass(`from GATEHOUSE_MASTER_KEY (${count}, current id ${config.masterKeys[0]?.id ?? ''})`);
}

export const masterKeyCheck: Check = { name: 'master-key', dependsOn: ['configuration'], run: (context) => judgeMasterKey(context.config()) };

export function judgePublicURL(config: Pick<Config, 'environment' | 'publicURL'>): Finding {
  if (config.publicURL.startsWith('https://')) return pass(`PUBLIC_URL is ${config.publicURL}`);
  return unsafe(config, `PUBLIC_URL is ${config.publicURL}: tokens and passwords would cross the network in clear`, 'set PUBLIC_URL to the https:// URL clients use');
}

export const publicURLCheck: Check = { name: 'public-url', dependsOn: ['configuration'], run: (context) => judgePublicURL(context.config()) };

function isLoopbackOrigin(origin: string): boolean {
  const host = new URL(origin).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

export function judgeCORS(config: Pick<Config, 'environment' | 'cors'>): Finding {
  const { origins } = config.cors;
  if (origins === '*') return unsafe(config, 'CORS_ORIGINS is *: any web site may call the API from its users\' browsers', 'set CORS_ORIGINS to the exact origins of your web apps');
  if (origins.length === 0) return pass('no cross-origin access (CORS_ORIGINS unset)');
  // A page served over plain HTTP can be rewritten on the way, and would then call the API as its users.
  const plain = origins.filter((origin) => origin.startsWith('http://') && !isLoopbackOrigin(origin));
  const local = origins.filter(isLoopbackOrigin);
  if (plain.length > 0) return unsafe(config, `CORS_ORIGINS allows plain-HTTP origins: ${plain.join(', ')}`, 'list only https:// origins in CORS_ORIGINS');
  if (local.length > 0 && config.environment === 'production') {
    return warn(`CORS_ORIGINS allows local development origins: ${local.join(', ')}`, 'remove localhost origins from CORS_ORIGINS in production');
  }
  return pass(`restricted to ${origins.join(', ')}`);
}

export const corsCheck: Check = { name: 'cors', dependsOn: ['configuration'], run: (context: DoctorContext) => judgeCORS(context.config()) };
