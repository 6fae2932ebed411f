import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createBlindIndex } from './blind-index.ts';

describe('blind index of emails', () => {
  const index = createBlindIndex(randomBytes(32));

  it('is equal for addresses that differ only in case and surrounding spaces', () => {
    assert.equal(index.email('Alice@Example.COM '), index.email('alice@example.com'));
    assert.equal(index.email('\talice@example.com\n'), index.email('alice@example.com'));
  });

  it('folds compatibility characters (NFKC) such as full-width letters', () => {
    assert.equal(index.email('ａｌｉｃｅ@example.com'), index.email('alice@example.com'));
  });

  it('differs for different addresses', () => {
    assert.notEqual(index.email('alice@example.com'), index.email('alice@example.org'));
    assert.notEqual(index.email('alice@example.com'), index.email('alice.@example.com'));
  });

  it('is a 256-bit base64url value', () => {
    assert.match(index.email('alice@example.com'), /^[A-Za-z0-9_-]{43}$/);
  });

  it('is stable for the same key', () => {
    const key = randomBytes(32);
    assert.equal(createBlindIndex(key).email('alice@example.com'), createBlindIndex(key).email('alice@example.com'));
  });

  it('refuses a key shorter than 256 bits', () => {
    assert.throws(() => createBlindIndex(randomBytes(16)), TypeError);
  });
});
