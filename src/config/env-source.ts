// Reads raw variables. Secret-capable ones may instead name a file (`NAME_FILE`), the way
// Docker and Kubernetes mount secrets, so the secret stays out of the process
// environment (visible in /proc/<pid>/environ, `docker inspect`, crash reports).
import { errorCode } from './parse-values.ts';

export type Env = Readonly<Record<string, string | undefined>>;
export type ReadFile = (path: string) => string;
export type Report = (name: string, rule: string) => void;

export interface EnvSource {
  /** A plain variable; an empty string counts as unset (what `${NAME}` yields when NAME is unset). */
  readonly plain: (name: string) => string | undefined;
  /** NAME, or the contents of the file NAME_FILE names; problems go to `report`. */
  readonly secret: (name: string) => string | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

// Editors and `echo` end files with a newline that is not part of the secret; anything
// more is kept, since stripping all whitespace could silently change a password.
function stripOneNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

function readSecretFile(name: string, path: string, readFile: ReadFile, report: Report): string | undefined {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    report(name, `${name}_FILE names a file that cannot be read (${errorCode(error)})`);
    return undefined;
  }
  const value = stripOneNewline(text);
  if (value === '') report(name, `${name}_FILE names an empty file`);
  return value === '' ? undefined : value;
}

export function createEnvSource(env: Env, readFile: ReadFile, report: Report): EnvSource {
  return {
    plain: (name) => nonEmpty(env[name]),
    secret(name) {
      const direct = nonEmpty(env[name]);
      const path = nonEmpty(env[`${name}_FILE`]);
      if (direct !== undefined && path !== undefined) {
        // Either could be the stale one; guessing would run with the wrong secret.
        report(name, `set either ${name} or ${name}_FILE, not both`);
        return undefined;
      }
      return path === undefined ? direct : readSecretFile(name, path, readFile, report);
    },
  };
}
