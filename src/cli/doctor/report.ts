// The report: a table for people, JSON for machines. Findings name settings and mask URLs
// already; as a last guard, any secret of this configuration that still reached the text
// (in a driver's error message, say) is replaced before anything is printed.
import type { Config } from '../../config/config.ts';
import type { Env } from '../../config/env-source.ts';
import { parseHostlessURL } from '../../config/parse-urls.ts';
import { countResults } from './run.ts';
import type { CheckResult, Status } from './types.ts';

const MASK = '***';
/** Shorter values are not secrets worth the name, and masking them would garble the text. */
const MIN_SECRET_LENGTH = 6;
const SECRET_VARIABLES = ['GATEHOUSE_MASTER_KEY', 'DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'METRICS_TOKEN', 'SECURITY_WEBHOOK_SECRET', 'SECURITY_WEBHOOK_SECRET_PREVIOUS'] as const;

function urlPasswords(raw: string): string[] {
  const password = parseHostlessURL(raw)?.url.password ?? '';
  if (password.length === 0) return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
}

/** Every secret value the environment and configuration hold, in the forms they could appear in. */
export function secretsOf(env: Env, config: Config | null): string[] {
  const raw = SECRET_VARIABLES.map((name) => env[name]).filter((value): value is string => value !== undefined);
  const fromConfig = config === null
    ? []
    : [
        config.database.engine === 'postgres' ? config.database.url : null,
        config.redisURL,
        config.smtp.url,
        config.metricsToken,
        config.administration.webhooks.secret,
        config.administration.webhooks.previousSecret,
        ...(config.masterKeys ?? []).flatMap((key) => [key.key.toString('base64url'), key.key.toString('base64')]),
      ].filter((value): value is string => value !== null);
  const values = [...raw, ...fromConfig];
  const parts = values.flatMap((value) => [value, ...urlPasswords(value), ...value.split(',').map((entry) => entry.slice(entry.indexOf(':') + 1))]);
  // Longest first, so a secret containing another is masked whole.
  return [...new Set(parts)].filter((part) => part.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) redacted = redacted.replaceAll(secret, MASK);
  return redacted;
}

const LABEL: Readonly<Record<Status, string>> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function formatTable(results: readonly CheckResult[], options: { readonly strict: boolean }): string {
  const width = Math.max(...results.map((result) => result.name.length));
  const lines = results.flatMap((result) => {
    const line = `  ${LABEL[result.status]}  ${result.name.padEnd(width)}  ${result.summary}`;
    return result.fix === undefined ? [line] : [line, `  ${' '.repeat(4)}  ${' '.repeat(width)}  fix: ${result.fix}`];
  });
  const counts = countResults(results);
  const mode = options.strict ? ' (strict: warnings fail)' : '';
  const header = `gatehouse doctor: ${counts.pass} passed, ${counts.warn} warnings, ${counts.fail} failed, ${counts.skip} skipped${mode}`;
  return `${header}\n\n${lines.join('\n')}\n`;
}

export function formatJSON(results: readonly CheckResult[], options: { readonly strict: boolean; readonly exitCode: number }): string {
  return `${JSON.stringify({ ok: options.exitCode === 0, strict: options.strict, counts: countResults(results), checks: results }, null, 2)}\n`;
}
