import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { longLivedKey } from './long-lived-key.ts';

describe('longLivedKey', () => {
  it('imports a key once, and its HMACs equal those of the Buffer', () => {
    const key = randomBytes(32);
    const keyObject = longLivedKey(key);
    assert.equal(longLivedKey(key), keyObject);
    assert.equal(keyObject.type, 'secret');
    assert.equal(keyObject.symmetricKeySize, 32);
    assert.deepEqual(createHmac('sha256', keyObject).update('text').digest(), createHmac('sha256', key).update('text').digest());
  });

  it('keeps keys with equal bytes apart only by identity, never mixing different keys', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    assert.notDeepEqual(longLivedKey(a).export(), longLivedKey(b).export());
    assert.deepEqual(longLivedKey(Buffer.from(a)).export(), a);
  });
});
