// Runs the checks in their order. A check whose dependency failed or was skipped is
// skipped itself (never shown as a pass); a check that throws fails with the reason,
// scrubbed of credentials. The exit code: 1 when anything failed (or, with strict,
// warned), else 0.
import type { Check, CheckResult, DoctorContext, Finding, Status } from './types.ts';

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi;

/** One line of an error's message, without the credentials of any URL in it. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : 'unknown error';
  return message.replace(URL_CREDENTIALS, '$1***@').replaceAll(/\s+/g, ' ').slice(0, 300);
}

/** Throws on a list that names a dependency that is not an earlier check (a mistake in checks.ts). */
export function assertWellOrdered(checks: readonly Check[]): void {
  const seen = new Set<string>();
  for (const check of checks) {
    if (seen.has(check.name)) throw new Error(`doctor check ${check.name} is listed twice`);
    const missing = (check.dependsOn ?? []).find((name) => !seen.has(name));
    if (missing !== undefined) throw new Error(`doctor check ${check.name} depends on ${missing}, which is not listed before it`);
    seen.add(check.name);
  }
}

async function runOne(check: Check, context: DoctorContext): Promise<Finding> {
  try {
    return await check.run(context);
  } catch (error) {
    return { status: 'fail', summary: `could not run: ${describeFailure(error)}`, fix: 'fix what the finding names, then run doctor again (the checks that need this one were skipped)' };
  }
}

export async function runChecks(checks: readonly Check[], context: DoctorContext): Promise<CheckResult[]> {
  assertWellOrdered(checks);
  const results = new Map<string, CheckResult>();
  for (const check of checks) {
    const blocker = (check.dependsOn ?? []).map((name) => results.get(name)).find((result) => result?.status === 'fail' || result?.status === 'skip');
    if (blocker !== undefined) {
      results.set(check.name, { name: check.name, status: 'skip', summary: `not checked: ${blocker.name} ${blocker.status === 'fail' ? 'failed' : 'was skipped'}`, ms: null });
      continue;
    }
    const started = performance.now();
    const finding = await runOne(check, context);
    results.set(check.name, { name: check.name, ...finding, ms: Math.round(performance.now() - started) });
  }
  return [...results.values()];
}

export type Counts = Record<Status, number>;

export function countResults(results: readonly CheckResult[]): Counts {
  const counts: Counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const result of results) counts[result.status] += 1;
  return counts;
}

export function exitCode(results: readonly CheckResult[], options: { readonly strict: boolean }): number {
  const counts = countResults(results);
  return counts.fail > 0 || (options.strict && counts.warn > 0) ? 1 : 0;
}
