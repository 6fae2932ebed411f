// How many audited writes per second PostgreSQL sustains when every write appends to
// the one serialized audit chain in its own transaction. Not a test: run it by hand.
//
//   DATABASE_URL_BENCH=postgres://user@host/db npm exec -- node bench/audit-throughput.ts \
//     [--writers 32] [--seconds 10] [--warmup 3] [--variant change,append,no-audit]
//
// Variants, each a transaction of one small unrelated write plus (except the first) its record:
//   no-audit    the unrelated write alone: what the server does without a chain.
//   append      appendAuditEvent as the last statement, no head cache, synchronous
//               commit: the flush to disk happens inside the chain lock.
//   change      core/change.ts, every feature's write path: head cache, lock + guessed-head check + insert in one call
//               (one round trip before the commit), commit without waiting for the
//               flush inside the lock, then a shared flush after it; durable before it
//               resolves.
// It creates a database of its own (DATABASE_URL_BENCH, else DATABASE_URL_TEST names the
// server), drops it afterwards, and writes bench/results/audit-throughput.json.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { sql, type Transaction } from 'kysely';
import pg from 'pg';
import { appendAuditEvent, createChainHeadCache } from '../src/core/audit/append.ts';
import type { AuditDeps, AuditEventInput } from '../src/core/audit/types.ts';
import { verifyAuditChain } from '../src/core/audit/verify.ts';
import { createAuditor } from '../src/core/audit/auditor.ts';
import { createCacheInvalidation } from '../src/core/cache.ts';
import { createChanges } from '../src/core/change.ts';
import { openDatabase, type Database } from '../src/core/db/database.ts';
import { migrate } from '../src/core/db/migrate.ts';
import type { Schema } from '../src/core/db/schema.ts';

const RESULTS = new URL('./results/', import.meta.url);
const VARIANTS = ['no-audit', 'append', 'change'] as const;
type Variant = (typeof VARIANTS)[number];

interface Options {
  readonly writers: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly variants: readonly Variant[];
}

function isVariant(name: string): name is Variant {
  return (VARIANTS as readonly string[]).includes(name);
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      writers: { type: 'string', default: '32' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      variant: { type: 'string', default: VARIANTS.join(',') },
    },
  });
  const variants = values.variant.split(',');
  const unknown = variants.filter((name) => !isVariant(name));
  if (unknown.length > 0) throw new Error(`unknown variant ${unknown.join(', ')}; choose from ${VARIANTS.join(', ')}`);
  return {
    writers: bounded(values.writers, 'writers', 1, 256),
    seconds: bounded(values.seconds, 'seconds', 1, 600),
    warmup: bounded(values.warmup, 'warmup', 0, 60),
    variants: variants.filter(isVariant),
  };
}

function bounded(raw: string, name: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return value;
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createBenchDatabase(baseUrl: string, poolMax: number): Promise<{ database: Database; drop: () => Promise<void> }> {
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  await withAdmin(baseUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ engine: 'postgres', url: url.toString(), poolMax });
  const drop = async (): Promise<void> => {
    await database.close();
    await withAdmin(baseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
  };
  return { database, drop };
}

function benchEvent(writer: number, n: number): AuditEventInput {
  return {
    actor: { type: 'user', id: `bench-${writer}` },
    action: 'bench.write',
    target: { type: 'bench_write', id: `${writer}:${n}` },
    outcome: 'success',
    ip: '198.51.100.1',
    userAgent: 'audit-throughput',
    requestId: `r-${writer}-${n}`,
    details: { writer, n },
  };
}

async function unrelatedWrite(trx: Transaction<Schema>, writer: number, n: number): Promise<void> {
  await sql`INSERT INTO bench_writes (writer, n) VALUES (${writer}, ${n})`.execute(trx);
}

function transactionFor(variant: Variant, database: Database, deps: AuditDeps): (writer: number, n: number) => Promise<void> {
  const { db } = database;
  switch (variant) {
    case 'no-audit':
      return (writer, n) => db.transaction().execute((trx) => unrelatedWrite(trx, writer, n));
    case 'append':
      return (writer, n) =>
        db.transaction().execute(async (trx) => {
          await unrelatedWrite(trx, writer, n);
          await appendAuditEvent(trx, deps, benchEvent(writer, n));
        });
    case 'change': {
      // The path every feature's write takes (core/change.ts).
      const change = createChanges({ db, audit: createAuditor(deps), invalidation: createCacheInvalidation() });
      const context = { ip: null, userAgent: null, requestId: null };
      return (writer, n) =>
        change(context, async ({ trx, audit }) => {
          await unrelatedWrite(trx, writer, n);
          audit(benchEvent(writer, n));
        });
    }
  }
}

/** Transactions finishing inside [from, until) are measured; writers stop at `until`. */
interface Window {
  readonly from: number;
  readonly until: number;
}

async function writer(run: (writer: number, n: number) => Promise<void>, index: number, window: Window, latencies: number[]): Promise<void> {
  for (let n = 0; performance.now() < window.until; n += 1) {
    const started = performance.now();
    await run(index, n);
    const finished = performance.now();
    if (finished >= window.from && finished < window.until) latencies.push(finished - started);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

interface VariantResult {
  readonly variant: Variant;
  readonly transactions: number;
  readonly writesPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly loadAverage: number;
}

async function measure(variant: Variant, database: Database, deps: AuditDeps, options: Options): Promise<VariantResult> {
  const from = performance.now() + options.warmup * 1000;
  const window: Window = { from, until: from + options.seconds * 1000 };
  const latencies: number[] = [];
  const run = transactionFor(variant, database, deps);
  await Promise.all(Array.from({ length: options.writers }, (_, index) => writer(run, index, window, latencies)));
  const sorted = latencies.sort((a, b) => a - b);
  return {
    variant,
    transactions: sorted.length,
    writesPerSecond: Math.round(sorted.length / options.seconds),
    latencyMs: { p50: round2(percentile(sorted, 50)), p99: round2(percentile(sorted, 99)), max: round2(sorted.at(-1) ?? Number.NaN) },
    loadAverage: round2(loadavg()[0] ?? Number.NaN),
  };
}

async function main(): Promise<void> {
  const baseUrl = process.env['DATABASE_URL_BENCH'] ?? process.env['DATABASE_URL_TEST'];
  if (baseUrl === undefined || baseUrl === '') throw new Error('set DATABASE_URL_BENCH (or DATABASE_URL_TEST) to a PostgreSQL server URL');
  const options = readOptions();
  const { database, drop } = await createBenchDatabase(baseUrl, options.writers + 4);
  try {
    await migrate(database);
    await sql`CREATE TABLE bench_writes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, writer int NOT NULL, n int NOT NULL)`.execute(database.db);
    const key = { id: 'bench', key: randomBytes(32) };
    const results: VariantResult[] = [];
    for (const variant of options.variants) {
      const deps: AuditDeps = { key, clock: () => new Date(), ...(variant === 'change' ? { headCache: createChainHeadCache() } : {}) };
      results.push(await measure(variant, database, deps, options));
    }
    const verifyStarted = performance.now();
    const chain = await verifyAuditChain(database.db, (id) => (id === key.id ? key.key : null));
    const verifyMs = Math.round(performance.now() - verifyStarted);
    const server = await sql<{ version: string }>`SELECT version()`.execute(database.db);
    console.table(
      Object.fromEntries(
        results.map((result) => [
          result.variant,
          { 'writes/s': result.writesPerSecond, 'p50 ms': result.latencyMs.p50, 'p99 ms': result.latencyMs.p99, 'max ms': result.latencyMs.max, 'load avg': result.loadAverage },
        ]),
      ),
    );
    console.log(`chain verified: ${chain.ok} (${chain.checked} records in ${verifyMs} ms)`);
    const report = {
      benchmark: 'audit-throughput',
      date: new Date().toISOString(),
      node: process.version,
      postgres: server.rows[0]?.version ?? 'unknown',
      writers: options.writers,
      warmupSeconds: options.warmup,
      measuredSeconds: options.seconds,
      results,
      chain: { ok: chain.ok, records: chain.checked, verifyMs },
    };
    await mkdir(RESULTS, { recursive: true });
    await writeFile(new URL('audit-throughput.json', RESULTS), `${JSON.stringify(report, null, 2)}\n`);
    if (!chain.ok) process.exitCode = 1;
  } finally {
    await drop();
  }
}

await main();
