// Whether web/dist was built from the sources as they are now. A content hash, not mtimes:
// a git checkout or a copied tree sets mtimes arbitrarily, and a stale bundle served after
// an upgrade would be the old UI talking to the new API.
import { createHash } from 'node:crypto';
import { glob, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The browser app's folder: web/ at the repository root. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** Written into the build's folder; never served (only index.html and assets/ are). */
export const STAMP_FILE = '.source-hash';

/**
 * Raised when the build options in build.ts change, so a checkout with an old dist rebuilds
 * even though no file under web/ changed.
 */
const BUILD_OPTIONS_VERSION = '1';

export function webDist(root: string): string {
  return join(root, 'dist');
}

async function sourceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  for await (const file of glob(['index.html', 'tsconfig.json', 'src/**/*'], { cwd: root, withFileTypes: true })) {
    if (file.isFile()) files.push(relative(root, join(file.parentPath, file.name)));
  }
  // Sorted so the hash depends on the tree, not on the order the directory lists it.
  return files.sort();
}

/** SHA-256 over every source file's path and content; null when web/ has no sources (a trimmed install). */
export async function hashWebSources(root: string): Promise<string | null> {
  const files = await sourceFiles(root);
  if (!files.includes('index.html')) return null;
  const hash = createHash('sha256').update(`gatehouse-web-build/${BUILD_OPTIONS_VERSION}\0`);
  for (const file of files) {
    const content = await readFile(join(root, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/** The hash the current dist was built from, or null when there is no complete build. */
export async function readBuildStamp(dist: string): Promise<string | null> {
  try {
    return (await readFile(join(dist, STAMP_FILE), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
