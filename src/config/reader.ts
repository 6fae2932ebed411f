// Collects every problem instead of stopping at the first, so one failed start lists
// everything the operator has to fix.
import type { ConfigProblem } from './config-error.ts';
import { createEnvSource, type Env, type EnvSource, type ReadFile } from './env-source.ts';
import type { Parsed } from './parse-values.ts';

export interface Reader extends EnvSource {
  readonly production: boolean;
  readonly problems: readonly ConfigProblem[];
  report(name: string, rule: string): void;
  /** Whether `name` already has a problem, so a derived rule does not pile onto it. */
  hasProblem(name: string): boolean;
  /** `fallback` when unset; the parsed value, or `fallback` plus a reported problem. */
  take<T>(name: string, raw: string | undefined, parse: (raw: string) => Parsed<T>, fallback: T): T;
}

export function createReader(env: Env, options: { readonly readFile: ReadFile; readonly production: boolean }): Reader {
  const problems: ConfigProblem[] = [];
  const report = (name: string, rule: string): void => {
    problems.push({ name, rule });
  };
  const source = createEnvSource(env, options.readFile, report);
  return {
    plain: source.plain,
    secret: source.secret,
    production: options.production,
    problems,
    report,
    hasProblem: (name) => problems.some((problem) => problem.name === name),
    take(name, raw, parse, fallback) {
      if (raw === undefined) return fallback;
      const parsed = parse(raw);
      if (parsed.ok) return parsed.value;
      report(name, parsed.rule);
      return fallback;
    },
  };
}
