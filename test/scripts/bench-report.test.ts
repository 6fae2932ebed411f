// The auth benchmark's login ceiling (bench/lib/report.ts): what login ÷ raw hash a
// machine allows once PostgreSQL and the load generator have taken their CPU per login.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthBenchReport } from '../../bench/auth.ts';
import type { MeasuredPhase } from '../../bench/lib/auth-phases.ts';
import { formatLoginCeilings, loginCeilings } from '../../bench/lib/report.ts';

interface Cores {
  readonly server: number;
  readonly postgres: number;
  readonly loadGenerator: number;
  readonly threads?: Readonly<Record<string, number>>;
}

function phase(perSecond: number, cores: Cores): MeasuredPhase {
  return {
    completed: perSecond * 10,
    errors: 0,
    stoppedClients: 0,
    perSecond,
    latencyMs: { p50: 1, p99: 2, max: 3 },
    seconds: 10,
    concurrency: 16,
    usage: {
      serverCores: cores.server,
      postgresCores: cores.postgres,
      loadGeneratorCores: cores.loadGenerator,
      foreignCores: 0,
      machineBusyPercent: 95,
      rssMB: { mean: 1, max: 1, samples: 1 },
      pssMB: { main: 1, children: 0, childCount: 0 },
      rssPerProcessMB: { main: 1, childMax: 0 },
      serverThreads: cores.threads ?? {},
    },
  };
}

// Only the fields the ceiling reads are real; the rest of a report is not needed here.
function report(hash: MeasuredPhase, login: MeasuredPhase | undefined, loginOverhead = false): AuthBenchReport {
  const engine = { engine: 'postgres', hash, phases: login === undefined ? {} : { login } };
  return { machine: { cpus: 2 }, loginOverhead, engines: [engine] } as unknown as AuthBenchReport;
}

describe('the login ceiling of the auth benchmark', () => {
  it('is the raw hash CPU over the hash plus PostgreSQL and the load generator per login', () => {
    // 1.96 cores for 76 raw hashes/s: 25,789 µs a hash. 55 logins/s: PostgreSQL 2,000 µs
    // and the load generator 1,091 µs per login; the server 31,818 µs, 27,273 of it hashing.
    const hash = phase(76, { server: 0, postgres: 0, loadGenerator: 1.96 });
    const login = phase(55, { server: 1.75, postgres: 0.11, loadGenerator: 0.06, threads: { 'libuv-worker': 1.5, main: 0.22 } });
    const [ceiling] = loginCeilings(report(hash, login));
    assert.deepEqual(ceiling, {
      engine: 'postgres',
      hashUs: 25_789,
      postgresUs: 2000,
      loadGeneratorUs: 1091,
      ceiling: 0.89,
      budgetUs: -226,
      serverBesideHashUs: 4545,
    });
  });

  it('leaves the server a budget where the others cost little beside a long hash', () => {
    const hash = phase(50, { server: 0, postgres: 0, loadGenerator: 1.9 });
    const login = phase(80, { server: 1.8, postgres: 0.05, loadGenerator: 0.04 });
    const [ceiling] = loginCeilings(report(hash, login));
    assert.ok(ceiling !== undefined);
    assert.equal(ceiling.ceiling, 0.97);
    assert.equal(ceiling.budgetUs, 3097);
    // No thread figures: what the server spent beside the hash is unknown, not zero.
    assert.equal(ceiling.serverBesideHashUs, null);
  });

  it('gives none without a login phase, or when the server hashed at the minimum cost', () => {
    const hash = phase(76, { server: 0, postgres: 0, loadGenerator: 1.96 });
    const login = phase(55, { server: 1.75, postgres: 0.11, loadGenerator: 0.06 });
    assert.deepEqual(loginCeilings(report(hash, undefined)), []);
    assert.deepEqual(loginCeilings(report(hash, login, true)), []);
  });

  it('prints one row per engine', () => {
    const hash = phase(76, { server: 0, postgres: 0, loadGenerator: 1.96 });
    const login = phase(55, { server: 1.75, postgres: 0.11, loadGenerator: 0.06, threads: { 'libuv-worker': 1.5 } });
    const lines = formatLoginCeilings(loginCeilings(report(hash, login))).split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[2] ?? '', /^postgres\s+0\.89\s+25789\s+2000\s+1091\s+-226\s+4545$/);
  });
});
