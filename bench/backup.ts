// `npm run bench:backup`: how long an encrypted backup of an installation with N accounts
// (each created through an audited change, so the audit trail holds N records) takes to
// write, verify and restore, how large it is, and on PGlite how long a query waits behind
// the snapshot (the embedded database has one connection, so requests wait for it).
//   BENCH_USERS=10000 (default); PostgreSQL in a database of its own on DATABASE_URL_BENCH,
//   DATABASE_URL_TEST or the local server (BENCH_POSTGRES=0 skips it).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { createBackup, generateBackupIdentity, readIdentityFile, restoreBackupFile, verifyBackupFile } from '../src/features/backup/index.ts';
import { openPGlite } from '../src/core/db/database.ts';
import { insertUser } from '../src/features/users/index.ts';
import { systemClock } from '../src/core/clock.ts';
import { buildBenchApp } from './lib/bench-app.ts';
import { createBenchDatabase, postgresBaseURL } from './lib/postgres.ts';

const USERS = Number(process.env['BENCH_USERS'] ?? '10000');
// A real argon2id hash's shape; nobody logs in during this benchmark.
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$QmVuY2htYXJrIGhhc2ggbm90IGEgcmVhbCBvbmUu';

async function measure(label: string, engineEnv: Record<string, string>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-bench-backup-'));
  const bench = await buildBenchApp({ GATEHOUSE_ENV: 'development', DATA_DIR: dir, LOG_LEVEL: 'warn', ...engineEnv }, systemClock);
  const { auth } = bench.services;
  try {
    let started = performance.now();
    for (let i = 0; i < USERS; i += 1) {
      await auth.change({ ip: '192.0.2.1', userAgent: 'bench', requestId: null }, async ({ trx, audit }) => {
        const id = await insertUser(trx, { keyring: auth.keyring, blindIndex: auth.blindIndex }, { email: `user${i}.${Date.now()}@example.test`, name: `User ${i}`, passwordHash: HASH, emailVerified: true, now: new Date() });
        audit({ actor: { type: 'system', id: 'bench' }, action: 'user.created', target: { type: 'user', id: id ?? '' }, outcome: 'success' });
      });
    }
    const seeded = (performance.now() - started) / 1000;
    const { identity, recipient } = await generateBackupIdentity();
    const identityPath = join(dir, 'identity.txt');
    await writeFile(identityPath, `${identity}\n`, { mode: 0o600 });
    const file = join(dir, 'bench.age');
    // A query every 10 ms during the backup: how long does one wait?
    let worstWait = 0;
    const probe = { running: true };
    const probing = (async () => {
      while (probe.running) {
        const t = performance.now();
        await sql`SELECT 1`.execute(bench.database.db);
        worstWait = Math.max(worstWait, performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    started = performance.now();
    const manifest = await createBackup(bench.database, { recipients: [recipient], out: file, filesDir: null, now: new Date(), keyring: auth.keyring });
    const created = (performance.now() - started) / 1000;
    probe.running = false;
    await probing;
    const decrypter = await readIdentityFile(identityPath);
    const keyring = auth.keyring;
    started = performance.now();
    const verified = await verifyBackupFile(file, decrypter, keyring);
    const verifySeconds = (performance.now() - started) / 1000;
    const target = await openPGlite({ engine: 'pglite', dataDir: null });
    started = performance.now();
    await restoreBackupFile(target, file, decrypter, keyring, { filesDir: null, ledgerFiles: [] });
    const restoreSeconds = (performance.now() - started) / 1000;
    await target.close();
    const rows = Object.values(manifest.tables).reduce((sum, count) => sum + count, 0);
    process.stdout.write(`${label}: ${USERS} accounts (seeded in ${seeded.toFixed(1)} s), ${rows} rows, audit head seq ${manifest.audit_head?.seq ?? 0}\n`);
    process.stdout.write(`  create: ${created.toFixed(2)} s (${Math.round(rows / created)} rows/s), ${(manifest.file_bytes / 1048576).toFixed(2)} MiB encrypted; longest wait of a query meanwhile ${worstWait.toFixed(0)} ms\n`);
    process.stdout.write(`  verify (scratch PGlite, audit chain of ${verified.checks.audit.checked} records, ${verified.checks.keys.checked} keys): ${verifySeconds.toFixed(2)} s\n`);
    process.stdout.write(`  restore into an empty PGlite (same checks): ${restoreSeconds.toFixed(2)} s\n`);
  } finally {
    await bench.database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await measure('PGlite', {});
if (process.env['BENCH_POSTGRES'] !== '0') {
  const postgres = await createBenchDatabase(postgresBaseURL(process.env));
  try {
    await measure(`PostgreSQL ${postgres.serverVersion}`, { DATABASE_URL: postgres.url });
  } finally {
    await postgres.drop();
  }
}
