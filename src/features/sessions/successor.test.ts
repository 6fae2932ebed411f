import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWellFormedRefreshToken } from './repo.ts';
import { createRefreshRotation } from './successor.ts';

describe('refresh-token successors', () => {
  const token = `ghr_${randomBytes(32).toString('base64url')}`;

  it('are well-formed refresh tokens, the same for the same token and key, and differ from it', () => {
    const rotation = createRefreshRotation(randomBytes(32), { reuseIntervalSeconds: 10 });
    const successor = rotation.successorOf(token);
    assert.ok(isWellFormedRefreshToken(successor), successor);
    assert.equal(rotation.successorOf(token), successor, 'a retry can recompute it');
    assert.notEqual(successor, token);
    assert.notEqual(rotation.successorOf(successor), successor);
  });

  it('cannot be computed without the server key', () => {
    const one = createRefreshRotation(randomBytes(32), { reuseIntervalSeconds: 10 });
    const other = createRefreshRotation(randomBytes(32), { reuseIntervalSeconds: 10 });
    assert.notEqual(one.successorOf(token), other.successorOf(token));
  });

  it('refuse a short key and a negative or fractional interval', () => {
    assert.throws(() => createRefreshRotation(randomBytes(16), { reuseIntervalSeconds: 10 }), TypeError);
    assert.throws(() => createRefreshRotation(randomBytes(32), { reuseIntervalSeconds: -1 }), RangeError);
    assert.throws(() => createRefreshRotation(randomBytes(32), { reuseIntervalSeconds: 1.5 }), RangeError);
  });
});
