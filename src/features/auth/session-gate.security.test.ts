// The session gate caches "is this session live?" for a second. The race a review found:
// a check reads "active", the session is revoked on this instance and its entry dropped,
// and only then does the check store its answer: the revoked session's access tokens
// would work for another full second on the very instance that revoked it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DB } from '../../core/db/database.ts';
import { createSessionGate } from './session-gate.ts';

describe('session gate', () => {
  it('a revoke that races an in-flight session check does not re-cache "active"', async () => {
    let live = true;
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let loads = 0;
    const gate = createSessionGate({
      db: null as unknown as DB,
      clock: () => new Date(),
      async load() {
        loads += 1;
        const answer = live ? { amr: ['pwd'], authTime: new Date() } : null;
        if (loads === 1) await held;
        return answer;
      },
    });
    const inFlight = gate.isActive('s1', 'u1');
    // The revocation commits and invalidates the session while the check is still running.
    live = false;
    gate.invalidate('session:s1');
    release();
    assert.equal(await inFlight, true, 'the check that began first answers what it read');
    assert.equal(await gate.isActive('s1', 'u1'), false, 'the next request sees the revocation at once');
    assert.equal(loads, 2);
  });
});
