// Configuration problems are reported all at once, by variable name and rule, so one
// failed start shows everything to fix. Values are never echoed: a misplaced secret
// (a password in the wrong variable) must not end up in a log or a CI transcript.

export interface ConfigProblem {
  /** The variable at fault, e.g. `PORT` (its `_FILE` variant is reported under the same name). */
  readonly name: string;
  /** What the value must satisfy; fixed text that never contains the value. */
  readonly rule: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_CONFIG_INVALID';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(describeProblems(problems));
    this.problems = Object.freeze(problems.map((problem) => Object.freeze({ ...problem })));
  }
}

export function isConfigError(value: unknown): value is ConfigError {
  return value instanceof ConfigError;
}

function describeProblems(problems: readonly ConfigProblem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return [`invalid configuration (${count})`, ...problems.map((problem) => `${problem.name}: ${problem.rule}`)].join('; ');
}

/** The multi-line text for stderr when the server refuses to start. */
export function formatConfigProblems(error: ConfigError): string {
  const count = error.problems.length === 1 ? 'a problem' : `${error.problems.length} problems`;
  return [
    `Gatehouse cannot start: the configuration has ${count}.`,
    ...error.problems.map((problem) => `  - ${problem.name}: ${problem.rule}`),
    'Every variable and its rules are documented in .env.example.',
  ].join('\n');
}
