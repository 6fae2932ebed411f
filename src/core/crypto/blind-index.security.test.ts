import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createBlindIndex } from './blind-index.ts';

const CANDIDATES = ['alice@example.com', 'bob@example.com', 'admin@example.com'];

describe('blind index attacks', () => {
  it('a stolen database cannot be searched by hashing candidate emails without the key', () => {
    const index = createBlindIndex(randomBytes(32));
    for (const email of CANDIDATES) {
      const stored = index.email(email);
      assert.notEqual(stored, createHash('sha256').update(email).digest('base64url'));
      assert.notEqual(stored, createHmac('sha256', Buffer.alloc(32)).update(email).digest('base64url'));
    }
  });

  it('the index under another key is unrelated, so one leaked index key does not unlock another deployment', () => {
    const first = createBlindIndex(randomBytes(32));
    const second = createBlindIndex(randomBytes(32));
    for (const email of CANDIDATES) assert.notEqual(first.email(email), second.email(email));
  });

  it('the system key is never used directly: the index is not an HMAC under the raw key', () => {
    const key = randomBytes(32);
    const index = createBlindIndex(key);
    for (const email of CANDIDATES) {
      assert.notEqual(index.email(email), createHmac('sha256', key).update(email).digest('base64url'));
    }
  });
});
