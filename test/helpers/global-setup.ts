// `npm test`'s global setup (node --test-global-setup): builds the migrated database
// templates once per run, before any test file starts, and removes them after the last;
// and builds the browser app if its build is stale, so that the servers the tests start
// (and the browser tests) find it built and no two test processes build it at once.
// Test processes find them through the environment variables set here, which node:test
// passes on to every test process it spawns (see database.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPostgresTemplate,
  dropPostgresDatabase,
  PGLITE_TEMPLATE_DIR_ENV,
  POSTGRES_TEMPLATE_ENV,
  postgresTestUrl,
  writePGliteTemplates,
} from './database.ts';
import { createLogger } from '../../src/core/logging.ts';
import { ensureWebBuild } from '../../src/web/build.ts';
import { WEB_ROOT } from '../../src/web/source-hash.ts';

let templateDir: string | null = null;
let postgresTemplate: string | null = null;

export async function globalSetup(): Promise<void> {
  templateDir = await mkdtemp(join(tmpdir(), 'gatehouse-test-templates-'));
  const baseUrl = postgresTestUrl();
  const [, name, web] = await Promise.all([
    writePGliteTemplates(templateDir),
    baseUrl === null ? Promise.resolve(null) : createPostgresTemplate(baseUrl),
    ensureWebBuild({ root: WEB_ROOT, log: createLogger({ level: 'warn' }) }),
  ]);
  if (web.status === 'failed') throw new Error('the web app does not build (see the log line above)');
  postgresTemplate = name;
  process.env[PGLITE_TEMPLATE_DIR_ENV] = templateDir;
  if (name !== null) process.env[POSTGRES_TEMPLATE_ENV] = name;
}

export async function globalTeardown(): Promise<void> {
  const baseUrl = postgresTestUrl();
  if (baseUrl !== null && postgresTemplate !== null) await dropPostgresDatabase(baseUrl, postgresTemplate);
  if (templateDir !== null) await rm(templateDir, { recursive: true, force: true });
}
