// Types of compile-cache.mjs (plain JavaScript so that it needs no type stripping).
/** Whether `directory` is a real directory of this user, or of root, that no one else may write to. */
export function privateDirectory(directory: string): boolean;
/** Enables the cache in `url` (a directory) when it is private; answers whether it did. */
export function enableCompileCacheSafely(url: URL): boolean;
