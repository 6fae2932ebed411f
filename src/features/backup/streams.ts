import type { Readable, Transform } from 'node:stream';

/** `source.pipe(transform)`, except that an error of the source also ends the transform with it (pipe() drops it, and the reader waits forever). */
export function joined<T extends Transform>(source: Readable, transform: T): T {
  source.once('error', (error) => transform.destroy(error));
  return source.pipe(transform);
}
