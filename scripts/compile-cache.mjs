// Node's module compile cache (module.enableCompileCache: the type-stripped TypeScript and
// V8's code cache of every module, on disk) for the `gatehouse` command. The cache is code
// the process will run, so it is kept where only the user running Gatehouse can write:
// a directory of the installation, created 0700, used only when it is this user's own and
// nobody else can write to it. Anywhere else (the machine's shared temp directory, Node's
// default) another local user could plant compiled code. A directory root owns and nobody
// else can write to is used too, read-only: that is the container's, made when the image
// is built and handed to root with the code (Dockerfile), so the service reads compiled
// modules and, as with its code, can never change them. Where there is no such directory
// and none can be made (a read-only installation), there is no cache: a start is slower,
// never different. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
//
// Plain JavaScript (types in compile-cache.d.mts), not TypeScript: it runs before the cache
// is on, and the first TypeScript file a process loads makes Node load its type stripper
// (a WebAssembly compiler): about 80 ms of every start's CPU, for this one file.
import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Whether `directory` is a real directory of this user, or of root, that no one else may write to.
 * @param {string} directory
 * @returns {boolean}
 */
export function privateDirectory(directory) {
  try {
    const info = lstatSync(directory);
    const uid = process.getuid?.();
    return info.isDirectory() && (uid === undefined || info.uid === uid || info.uid === 0) && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * Enables the cache in `url` (a directory) when it is private; answers whether it did.
 * @param {URL} url
 * @returns {boolean}
 */
export function enableCompileCacheSafely(url) {
  if (process.env['NODE_DISABLE_COMPILE_CACHE'] === '1') return false;
  const directory = fileURLToPath(url);
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch {
    return false;
  }
  if (!privateDirectory(directory)) return false;
  const result = module.enableCompileCache(directory);
  return result.status === module.constants.compileCacheStatus.ENABLED || result.status === module.constants.compileCacheStatus.ALREADY_ENABLED;
}
