// The wiring of createServices that no feature test sees on its own.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { startTestApp } from '../test/helpers/app.ts';
import { defaultHashSlots } from './core/password/hash-slots.ts';

describe('createServices', () => {
  it('runs one Argon2id hash per core, shared among the WORKERS of one server', async () => {
    for (const workers of [1, 2, 64]) {
      const app = await startTestApp({ config: (config) => ({ ...config, workers }) });
      try {
        assert.equal(app.services.auth.passwords.concurrency, defaultHashSlots(workers), `WORKERS=${workers}`);
      } finally {
        await app.close();
      }
    }
    assert.equal(defaultHashSlots(1), availableParallelism());
    assert.equal(defaultHashSlots(64), 1);
  });
});
