// The MFA login benchmark's report as text (bench/mfa-login.ts measures; bench/run.ts prints).
import type { Distribution, MfaLoginBenchReport } from '../mfa-login.ts';
import { round } from './stats.ts';

/** The report as text: one line per engine, and whether each goal was met. */
export function formatMfaLogin(report: MfaLoginBenchReport): string {
  const lines = [
    `MFA login benchmark, ${report.date}: Node ${report.node}, ${report.machine.cpus} × ${report.machine.model}; argon2id m=${report.argon2.memoryKiB} KiB t=${report.argon2.passes} p=${report.argon2.parallelism}; ${report.pairs} alternating login pairs per engine, app.inject.`,
    `Argon2id verification alone: ${report.hashVerifyMs.median} ms (p10 ${report.hashVerifyMs.p10}, p90 ${report.hashVerifyMs.p90}).`,
    `matchTotp CPU per call: ${report.matchTotpCPUus.right} µs (right code), ${report.matchTotpCPUus.wrong} µs (wrong code, all 3 steps computed).`,
    '',
    'engine    password-only ms (p10-p90)   TOTP login ms (p10-p90)     = password step + second step   ratio   CPU ms/login pw | TOTP   verifySecondFactor µs CPU | wall',
  ];
  for (const engine of report.engines) {
    const spread = (d: Distribution): string => `${d.median} (${d.p10}-${d.p90})`;
    lines.push(
      `${engine.engine.padEnd(9)} ${spread(engine.passwordLoginMs).padEnd(28)} ${spread(engine.totpLoginMs).padEnd(27)} ${`${engine.totpPasswordStepMs.median} + ${engine.totpSecondStepMs.median}`.padEnd(31)} ${String(engine.ratio).padEnd(7)} ${`${engine.passwordLoginCPUms} | ${engine.totpLoginCPUms}`.padEnd(24)} ${engine.verifyCPUus} | ${engine.verifyWallus}`,
    );
  }
  lines.push('');
  for (const engine of report.engines) {
    const within = engine.ratio <= 1.05;
    lines.push(`goal ${engine.engine}: TOTP login (two requests) within 5% of password-only: ${within ? 'met' : 'NOT met'} (+${round((engine.ratio - 1) * 100, 1)}%; the second step alone is ${engine.totpSecondStepMs.median} ms)`);
    lines.push(
      `goal ${engine.engine}: TOTP login (code with the password, one request) within 5% of password-only: ${engine.oneRequestRatio <= 1.05 ? 'met' : 'NOT met'} (${engine.oneRequestLoginMs.median} ms, ${round((engine.oneRequestRatio - 1) * 100, 1)}%; CPU ${engine.oneRequestCPUms} vs ${engine.passwordLoginCPUms} ms)`,
    );
    lines.push(`goal ${engine.engine}: TOTP check ≤ 1 ms CPU: ${engine.verifyCPUus <= 1000 ? 'met' : 'NOT met'} (verifySecondFactor ${engine.verifyCPUus} µs${engine.engine === 'pglite' ? ', the embedded database\'s own work included' : ', PostgreSQL\'s own work not included'}; matchTotp ${report.matchTotpCPUus.wrong} µs)`);
  }
  return lines.join('\n');
}
