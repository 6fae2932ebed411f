// `npm run audit` must never call a missing answer a pass: each way the advisory service
// or npm itself can fail is judged NOT CHECKED, and only a complete report passes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditDependencies, describeAudit, NOT_CHECKED_EXIT_CODE, NOT_CHECKED_PREFIX, type AuditRun, type SpawnAudit } from '../../scripts/audit-outcome.ts';

const CLEAN = { info: 0, low: 1, moderate: 2, high: 0, critical: 0, total: 3 };

function report(vulnerabilities: Record<string, number>): string {
  return JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: { vulnerabilities, dependencies: { prod: 10, total: 10 } } });
}

function answering(run: AuditRun): SpawnAudit {
  return () => run;
}

const FAILURES: ReadonlyArray<[string, SpawnAudit]> = [
  ['the advisory endpoint refuses (405)', answering({ status: 1, stdout: JSON.stringify({ message: '405 Method Not Allowed - POST https://advisories.invalid/bulk', statusCode: 405, body: '', error: { summary: '', detail: '' } }) })],
  ['the network is down', answering({ status: 1, stdout: JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request to https://advisories.invalid failed', detail: '' } }) })],
  ['npm is missing', answering({ status: null, stdout: '', error: Object.assign(new Error('spawnSync npm ENOENT'), { code: 'ENOENT' }) })],
  ['npm times out', answering({ status: null, stdout: '', error: Object.assign(new Error('spawnSync npm ETIMEDOUT'), { code: 'ETIMEDOUT' }) })],
  ['npm is killed', answering({ status: null, stdout: '' })],
  ['spawning throws', () => { throw new Error('EAGAIN'); }],
  ['npm prints no JSON', answering({ status: 0, stdout: 'npm error something else\n' })],
  ['npm prints nothing and exits 0', answering({ status: 0, stdout: '' })],
  ['a report whose counts are partial', answering({ status: 0, stdout: JSON.stringify({ metadata: { vulnerabilities: { high: 0 } } }) })],
  ['a report with an error beside zero counts', answering({ status: 0, stdout: JSON.stringify({ error: { summary: 'audit failed' }, metadata: { vulnerabilities: { ...CLEAN, low: 0, moderate: 0, total: 0 } } }) })],
  ['a clean report but npm failed', answering({ status: 1, stdout: report(CLEAN) })],
];

describe('npm run audit classification', () => {
  for (const [name, spawn] of FAILURES) {
    it(`${name}: NOT CHECKED, its own exit code (not 0), and nothing that reads as a pass`, () => {
      const outcome = auditDependencies(spawn);
      assert.equal(outcome.kind, 'not_checked');
      const printed = describeAudit(outcome);
      assert.equal(printed.exitCode, NOT_CHECKED_EXIT_CODE, 'distinct from a pass (0) and a failure (1): CI reports it as a warning');
      assert.ok(printed.stdout.startsWith(`${NOT_CHECKED_PREFIX} (`), printed.stdout);
      assert.doesNotMatch(printed.stdout + printed.stderr, /\bpassed\b|no high or critical advisories/i);
    });
  }

  it('the advisory service unreachable is named as such', () => {
    const [, spawn] = FAILURES[0] ?? assert.fail();
    assert.match(describeAudit(auditDependencies(spawn)).stdout, /^audit: NOT CHECKED \(advisory service unreachable\): 405/);
  });

  it('a complete report without high or critical advisories passes', () => {
    const outcome = auditDependencies(answering({ status: 0, stdout: report(CLEAN) }));
    assert.deepEqual(outcome, { kind: 'passed', counts: CLEAN });
    const printed = describeAudit(outcome);
    assert.equal(printed.exitCode, 0);
    assert.match(printed.stdout, /^audit: passed: no high or critical advisories/);
  });

  for (const severity of ['high', 'critical'] as const) {
    it(`a report with a ${severity} advisory fails the run`, () => {
      const stdout = report({ ...CLEAN, [severity]: 1, total: 4 });
      const outcome = auditDependencies(answering({ status: 1, stdout }));
      assert.equal(outcome.kind, 'vulnerable');
      const printed = describeAudit(outcome);
      assert.equal(printed.exitCode, 1);
      assert.match(printed.stderr, /^audit: FAILED/);
      assert.ok(printed.stdout.includes('"metadata"'), 'the report is shown');
    });
  }

  it('npm is asked about every dependency, dev ones included, at the high level, as JSON', () => {
    let asked: readonly string[] = [];
    auditDependencies((command, args) => {
      asked = [command, ...args];
      return { status: 0, stdout: report(CLEAN) };
    });
    assert.deepEqual(asked, ['npm', 'audit', '--audit-level=high', '--json']);
  });
});
