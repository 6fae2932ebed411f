// `npm run web:build`: builds the browser app now (whatever its stamp says) and prints the
// size of what a first visit downloads, raw and gzip-compressed, against the 150 kB goal
// (chunks loaded on demand, like the admin console, are listed apart).
// `gatehouse serve` builds by itself when needed (src/web/build.ts); this is for measuring.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../src/core/logging.ts';
import { buildWebApp } from '../src/web/build.ts';
import { hashWebSources, WEB_ROOT, webDist } from '../src/web/source-hash.ts';

const FIRST_LOAD_BUDGET_GZIP = 150 * 1024;

export interface AssetSize {
  readonly file: string;
  readonly bytes: number;
  readonly gzip: number;
  /** Downloaded by the first page (index.html and what it names); false for a chunk loaded on demand, such as the admin console. */
  readonly firstLoad: boolean;
}

/** index.html and every file under assets/, each marked by whether a first visit downloads it. */
export async function measureWebBuild(dist: string): Promise<AssetSize[]> {
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  // The scripts, styles and module preloads index.html names; a lazily imported chunk is named by none.
  const named = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((match) => match[1]));
  const files = ['index.html', ...(await readdir(join(dist, 'assets'))).map((name) => `assets/${name}`)];
  const sizes: AssetSize[] = [];
  for (const file of files) {
    const content = await readFile(join(dist, file));
    sizes.push({ file, bytes: content.length, gzip: gzipSync(content).length, firstLoad: file === 'index.html' || named.has(file) });
  }
  return sizes;
}

if (import.meta.main) {
  const fingerprint = await hashWebSources(WEB_ROOT);
  if (fingerprint === null) throw new Error(`no web app sources in ${WEB_ROOT}`);
  const started = performance.now();
  await buildWebApp({ root: WEB_ROOT, log: createLogger({ level: 'warn' }), fingerprint });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const sizes = await measureWebBuild(webDist(WEB_ROOT));
  const kB = (n: number): string => `${(n / 1024).toFixed(1)} kB`;
  for (const size of sizes) {
    process.stdout.write(`${size.file.padEnd(36)} ${kB(size.bytes).padStart(10)} ${kB(size.gzip).padStart(10)} gzip${size.firstLoad ? '' : '  (on demand)'}\n`);
  }
  const total = sizes.filter((size) => size.firstLoad).reduce((sum, size) => sum + size.gzip, 0);
  const onDemand = sizes.filter((size) => !size.firstLoad).reduce((sum, size) => sum + size.gzip, 0);
  process.stdout.write(`built in ${seconds} s; first load ${kB(total)} gzip (goal < ${kB(FIRST_LOAD_BUDGET_GZIP)}); loaded on demand ${kB(onDemand)} gzip\n`);
  if (total > FIRST_LOAD_BUDGET_GZIP) process.exitCode = 1;
}
