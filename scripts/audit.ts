// `npm audit` where the advisory service answers. Where it does not (this project's CI
// machine is refused), it prints `audit: NOT CHECKED (...)` and exits 3 (neither a pass nor a failure), so CI goes on,
// and .ci/run names the audit as not checked in its closing summary: a missing answer is
// never reported as a pass. The judgement is in audit-outcome.ts.
import { spawnSync } from 'node:child_process';
import { auditDependencies, describeAudit } from './audit-outcome.ts';

const outcome = auditDependencies((command, args) => {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, error: run.error };
});
const described = describeAudit(outcome);
process.stdout.write(described.stdout);
process.stderr.write(described.stderr);
process.exitCode = described.exitCode;
