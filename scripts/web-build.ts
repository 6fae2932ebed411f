// `npm run web:build`: builds the browser app now (whatever its stamp says) and prints the
// size of what a first visit downloads, raw and gzip-compressed, against the 150 kB goal.
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
}

/** index.html and every file under assets/ (the app loads all of them on its first page). */
export async function measureWebBuild(dist: string): Promise<AssetSize[]> {
  const files = ['index.html', ...(await readdir(join(dist, 'assets'))).map((name) => `assets/${name}`)];
  const sizes: AssetSize[] = [];
  for (const file of files) {
    const content = await readFile(join(dist, file));
    sizes.push({ file, bytes: content.length, gzip: gzipSync(content).length });
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
  for (const size of sizes) process.stdout.write(`${size.file.padEnd(36)} ${kB(size.bytes).padStart(10)} ${kB(size.gzip).padStart(10)} gzip\n`);
  const total = sizes.reduce((sum, size) => sum + size.gzip, 0);
  process.stdout.write(`built in ${seconds} s; first load ${kB(total)} gzip (goal < ${kB(FIRST_LOAD_BUDGET_GZIP)})\n`);
  if (total > FIRST_LOAD_BUDGET_GZIP) process.exitCode = 1;
}
