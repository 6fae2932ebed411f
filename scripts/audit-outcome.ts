// What one `npm audit` run proved. Only a report with the advisory counts in it is an
// answer; anything else (npm could not start, timed out, the advisory service refused
// or could not be reached, the output is not a report) means nothing was checked, and
// that is never reported as a pass.

/** What `npm audit --json` left behind (the shape of spawnSync's result). */
export interface AuditRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly error?: Error | undefined;
}

export type AuditOutcome =
  | { readonly kind: 'passed'; readonly counts: Readonly<Record<string, number>> }
  | { readonly kind: 'vulnerable'; readonly counts: Readonly<Record<string, number>>; readonly report: string }
  | { readonly kind: 'not_checked'; readonly reason: string; readonly detail: string };

/** The line CI looks for; a contract with .ci/run. */
export const NOT_CHECKED_PREFIX = 'audit: NOT CHECKED';

const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical', 'total'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The severity counts, only when every one is a count: a partial report proves nothing. */
function readCounts(report: unknown): Record<string, number> | null {
  if (!isRecord(report) || 'error' in report) return null;
  const metadata = report['metadata'];
  const vulnerabilities = isRecord(metadata) ? metadata['vulnerabilities'] : undefined;
  if (!isRecord(vulnerabilities)) return null;
  const counts: Record<string, number> = {};
  for (const severity of SEVERITIES) {
    const count = vulnerabilities[severity];
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return null;
    counts[severity] = count;
  }
  return counts;
}

function serviceMessage(report: unknown): string | null {
  if (!isRecord(report)) return null;
  const message = report['message'] ?? (isRecord(report['error']) ? report['error']['summary'] : undefined);
  return typeof message === 'string' && message !== '' ? message : null;
}

export function classifyAudit(run: AuditRun): AuditOutcome {
  if (run.error !== undefined) return { kind: 'not_checked', reason: 'npm audit could not run', detail: run.error.message };
  if (run.status === null) return { kind: 'not_checked', reason: 'npm audit could not run', detail: 'stopped before it answered' };
  const report = parseJSON(run.stdout);
  const counts = readCounts(report);
  if (counts === null) {
    return { kind: 'not_checked', reason: 'advisory service unreachable', detail: serviceMessage(report) ?? 'npm audit printed no report' };
  }
  const serious = (counts['high'] ?? 0) + (counts['critical'] ?? 0);
  if (serious > 0) return { kind: 'vulnerable', counts, report: run.stdout };
  // npm exits non-zero at --audit-level=high only for high or critical findings: a
  // failure beside a clean report is something else going wrong, not a pass.
  if (run.status !== 0) return { kind: 'not_checked', reason: 'npm audit failed', detail: `exit ${run.status} with a report that lists nothing high or critical` };
  return { kind: 'passed', counts };
}

export type SpawnAudit = (command: string, args: readonly string[]) => AuditRun;

/** Runs `npm audit` through `spawn` (spawnSync in the script, a stand-in in tests) and judges it. */
export function auditDependencies(spawn: SpawnAudit): AuditOutcome {
  let run: AuditRun;
  try {
    // Every dependency, dev ones included: the build tools run on the same machines.
    run = spawn('npm', ['audit', '--audit-level=high', '--json']);
  } catch (error) {
    return { kind: 'not_checked', reason: 'npm audit could not run', detail: error instanceof Error ? error.message : 'spawn failed' };
  }
  return classifyAudit(run);
}

/** Exit code of an audit that could not be made: neither a pass (0) nor a failure (1); CI reports it as a warning. */
export const NOT_CHECKED_EXIT_CODE = 3;

/** The lines to print and the exit code; a missing answer exits NOT_CHECKED_EXIT_CODE, never 0. */
export function describeAudit(outcome: AuditOutcome): { stdout: string; stderr: string; exitCode: number } {
  switch (outcome.kind) {
    case 'passed':
      return { stdout: `audit: passed: no high or critical advisories (${JSON.stringify(outcome.counts)})\n`, stderr: '', exitCode: 0 };
    case 'vulnerable':
      return { stdout: outcome.report.endsWith('\n') ? outcome.report : `${outcome.report}\n`, stderr: `audit: FAILED: high or critical advisories (${JSON.stringify(outcome.counts)})\n`, exitCode: 1 };
    case 'not_checked':
      return {
        stdout: `${NOT_CHECKED_PREFIX} (${outcome.reason}): ${outcome.detail}. Dependencies were NOT checked for advisories; this is not a pass.\n`,
        stderr: '',
        exitCode: NOT_CHECKED_EXIT_CODE,
      };
  }
}
