// Argon2id through Node's own binding (node:crypto, Node ≥ 24.7). The asynchronous form
// runs on the libuv thread pool, so a hash never blocks the event loop; concurrent hashes
// queue for the pool's threads (UV_THREADPOOL_SIZE, 4 by default).
import { argon2 } from 'node:crypto';
import type { Argon2Cost } from './phc.ts';

export function deriveArgon2id(message: Buffer, salt: Buffer, cost: Argon2Cost, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Invalid parameters throw synchronously inside the executor, which rejects.
    argon2(
      'argon2id',
      { message, nonce: salt, memory: cost.memoryKiB, passes: cost.passes, parallelism: cost.parallelism, tagLength },
      (error, derived) => {
        if (error === null) resolve(derived);
        else reject(error);
      },
    );
  });
}
