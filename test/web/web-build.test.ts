// `gatehouse serve` builds the web app when its build is missing or was made from other
// sources, and only then; without the build tools (npm install --omit=dev) or with sources
// that do not build, it keeps the previous build or serves the API alone, and says so.
// Runs on a copy of web/ inside the repository (Vite finds node_modules by walking up).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/core/logging.ts';
import { ensureWebBuild, type ViteAPI } from '../../src/web/build.ts';
import { STAMP_FILE, WEB_ROOT, webDist } from '../../src/web/source-hash.ts';
import { captureLines } from '../helpers/app.ts';

const SCRATCH = fileURLToPath(new URL('../../test-results/', import.meta.url));

function missingVite(): Promise<ViteAPI> {
  return Promise.reject(Object.assign(new Error("Cannot find package 'vite'"), { code: 'ERR_MODULE_NOT_FOUND' }));
}

describe('building the web app on start', () => {
  let root: string;
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: captureLines(lines) });

  before(async () => {
    root = join(SCRATCH, `web-build-${randomBytes(4).toString('hex')}`);
    await mkdir(root, { recursive: true });
    for (const part of ['index.html', 'tsconfig.json', 'src']) await cp(join(WEB_ROOT, part), join(root, part), { recursive: true });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('without the build tools and without a build, serves the API only and warns', async () => {
    const outcome = await ensureWebBuild({ root, log, loadVite: missingVite });
    assert.deepEqual(outcome, { status: 'unavailable', dist: null });
    assert.ok(lines.some((line) => line.includes('"level":"warn"') && line.includes('build tools not installed')), lines.join('\n'));
  });

  it('builds when there is no build, then finds it fresh', async () => {
    const built = await ensureWebBuild({ root, log });
    assert.deepEqual(built, { status: 'built', dist: webDist(root) });
    assert.match(await readFile(join(webDist(root), 'index.html'), 'utf8'), /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    assert.match(await readFile(join(webDist(root), STAMP_FILE), 'utf8'), /^[0-9a-f]{64}\n$/);
    assert.ok(lines.some((line) => line.includes('web app built')));
    const again = await ensureWebBuild({ root, log, loadVite: missingVite });
    assert.equal(again.status, 'fresh', 'an unchanged tree is not rebuilt (nor is Vite even loaded)');
  });

  it('rebuilds after a source changes, and keeps the previous build when the tools are gone', async () => {
    await appendFile(join(root, 'src', 'main.tsx'), '\n// changed\n');
    const stale = await ensureWebBuild({ root, log, loadVite: missingVite });
    assert.deepEqual(stale, { status: 'unavailable', dist: webDist(root) }, 'the previous build is served');
    const rebuilt = await ensureWebBuild({ root, log });
    assert.equal(rebuilt.status, 'built');
  });

  it('a source that does not build is logged as an error and the previous build stays', async () => {
    const before = await readFile(join(webDist(root), 'index.html'), 'utf8');
    await appendFile(join(root, 'src', 'main.tsx'), '\nconst = ;\n');
    const outcome = await ensureWebBuild({ root, log });
    assert.deepEqual(outcome, { status: 'failed', dist: webDist(root) });
    assert.equal(await readFile(join(webDist(root), 'index.html'), 'utf8'), before);
    assert.ok(lines.some((line) => line.includes('"level":"error"') && line.includes('web app build failed')));
  });
});
