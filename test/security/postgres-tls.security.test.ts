// Gatehouse to PostgreSQL over verified TLS, against a cluster of the test's own (never
// the machine's shared server) serving a certificate from a CA made in the test: with
// sslmode=verify-full and that CA as sslrootcert the connection is encrypted (pg_stat_ssl
// says so) and production configuration accepts the URL; a CA that did not sign the
// server's certificate is refused before any query, as is a host name the certificate
// does not name.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/core/db/database.ts';
import { makeCA, makeServerCertificate } from '../helpers/test-ca.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.ts';

describe('PostgreSQL over verified TLS', { timeout: 180_000 }, () => {
  let dir: string;
  let cluster: ThrowawayPostgres;
  // Serves a certificate from the trusted CA, but for another address than the one asked.
  let misnamed: ThrowawayPostgres;
  let trusted: string;
  let stranger: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-pg-tls-'));
    trusted = (await makeCA(dir, 'ca')).cert;
    stranger = (await makeCA(dir, 'other-ca')).cert;
    const server = await makeServerCertificate(dir, 'postgres', 'ca');
    cluster = await startThrowawayPostgres({ tls: server });
    misnamed = await startThrowawayPostgres({ tls: await makeServerCertificate(dir, 'elsewhere', 'ca', 'IP:192.0.2.1,DNS:db.example.test') });
  });
  after(async () => {
    await cluster.destroy();
    await misnamed.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const urlWith = (ca: string, server: ThrowawayPostgres = cluster): string => `postgres://postgres@127.0.0.1:${server.port}/gatehouse?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;

  it('connects with sslmode=verify-full and the right CA, and the session is encrypted', async () => {
    const database = await openDatabase({ engine: 'postgres', url: urlWith(trusted), poolMax: 2 });
    try {
      const { rows } = await sql<{ ssl: boolean; version: string }>`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(database.db);
      assert.equal(rows.length, 1);
      assert.deepEqual(rows.map((row) => [row.ssl, /^TLSv1\.[23]$/.test(row.version)]), [[true, true]]);
    } finally {
      await database.close();
    }
  });

  it('refuses a server whose certificate the given CA did not sign, and one whose certificate names another host', async () => {
    for (const [url, refusal] of [
      [urlWith(stranger), /self.signed|unable to verify|certificate/i],
      [urlWith(trusted, misnamed), /IP: 127\.0\.0\.1 is not in the cert's list|altname/i],
    ] as const) {
      const database = await openDatabase({ engine: 'postgres', url, poolMax: 1 });
      try {
        await assert.rejects(sql`SELECT 1`.execute(database.db), refusal);
      } finally {
        await database.close();
      }
    }
  });
});
