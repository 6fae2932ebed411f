// WORKERS: how many processes serve behind one listening port (`gatehouse serve` forks
// them with node:cluster, src/cli/cluster.ts). They share nothing but PostgreSQL and
// Redis, so the embedded PGlite engine, one connection inside one process, cannot have
// more than one.
import { availableParallelism } from 'node:os';
import { accept, parseInteger, type Parsed } from './parse-values.ts';
import type { Reader } from './reader.ts';

export const MAX_WORKERS = 64;

/** A whole number from 1 to 64, or `auto`: the cores this process may use (at most 64). */
export function parseWorkers(raw: string, cores: () => number = availableParallelism): Parsed<number> {
  if (raw === 'auto') return accept(Math.max(1, Math.min(MAX_WORKERS, cores())));
  const parsed = parseInteger(raw, { min: 1, max: MAX_WORKERS });
  return parsed.ok ? parsed : { ok: false, rule: `must be auto or ${parsed.rule.replace(/^must be /, '')}` };
}

export function readWorkers(reader: Reader, engine: 'pglite' | 'postgres'): number {
  const workers = reader.take('WORKERS', reader.plain('WORKERS'), (raw) => parseWorkers(raw), 1);
  if (workers > 1 && engine === 'pglite') {
    // `auto` on a one-core machine is 1 and passes; on more cores it is refused like a number.
    reader.report('WORKERS', 'must be 1 with the embedded PGlite database (DATABASE_URL unset), which has one connection in one process: set DATABASE_URL to a PostgreSQL server to run several workers');
  }
  return workers;
}
