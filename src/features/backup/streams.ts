import { Transform, type Readable } from 'node:stream';

/** `source.pipe(transform)`, except that an error of the source also ends the transform with it (pipe() drops it, and the reader waits forever). */
export function joined<T extends Transform>(source: Readable, transform: T): T {
  source.once('error', (error) => transform.destroy(error));
  return source.pipe(transform);
}

/**
 * Passes bytes through, failing once a line (bytes between newlines) grows past `maxBytes`:
 * readline would otherwise hold a line of any length in memory (a hostile or corrupt file).
 */
export function lineLengthLimit(maxBytes: number, error: () => Error): Transform {
  let current = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let start = 0;
      for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
        if (current + newline - start > maxBytes) {
          done(error());
          return;
        }
        current = 0;
        start = newline + 1;
      }
      current += chunk.length - start;
      if (current > maxBytes) done(error());
      else done(null, chunk);
    },
  });
}
