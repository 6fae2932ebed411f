import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { MasterKey } from './master-key.ts';
import { createKeyring, CryptoError } from './keyring.ts';

function masterKey(id: string): MasterKey {
  return { id, key: randomBytes(32) };
}

describe('keyring', () => {
  it('unwraps what it wrapped, in the v1 text form naming the key', () => {
    const keyring = createKeyring([masterKey('k1')]);
    const secret = randomBytes(32);
    const wrapped = keyring.wrap(secret, 'data-key:x');
    assert.match(wrapped, /^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{64}$/);
    assert.deepEqual(keyring.unwrap(wrapped, 'data-key:x'), secret);
    assert.equal(keyring.currentKeyId, 'k1');
  });

  it('uses a fresh IV every time', () => {
    const keyring = createKeyring([masterKey('k1')]);
    const secret = randomBytes(32);
    assert.notEqual(keyring.wrap(secret, 'a'), keyring.wrap(secret, 'a'));
  });

  it('wraps an empty value', () => {
    const keyring = createKeyring([masterKey('k1')]);
    assert.deepEqual(keyring.unwrap(keyring.wrap(Buffer.alloc(0), 'a'), 'a'), Buffer.alloc(0));
  });

  it('after a rotation, wraps with the new key and still unwraps under the old one', () => {
    const oldKey = masterKey('old');
    const newKey = masterKey('new');
    const secret = randomBytes(32);
    const before = createKeyring([oldKey]).wrap(secret, 'a');
    const rotated = createKeyring([newKey, oldKey]);
    assert.equal(rotated.currentKeyId, 'new');
    assert.deepEqual(rotated.unwrap(before, 'a'), secret);
    assert.equal(rotated.needsRewrap(before), true);
    const after = rotated.wrap(secret, 'a');
    assert.match(after, /^v1\.new\./);
    assert.equal(rotated.needsRewrap(after), false);
    assert.deepEqual(createKeyring([newKey]).unwrap(after, 'a'), secret);
  });

  it('refuses a value whose key has left the keyring', () => {
    const oldKey = masterKey('old');
    const before = createKeyring([oldKey]).wrap(randomBytes(32), 'a');
    assert.throws(() => createKeyring([masterKey('new')]).unwrap(before, 'a'), CryptoError);
  });

  it('refuses a value relabelled with another key id of the same keyring', () => {
    const keyring = createKeyring([masterKey('a'), masterKey('b')]);
    const relabelled = keyring.wrap(randomBytes(32), 'x').replace(/^v1\.a\./, 'v1.b.');
    assert.throws(() => keyring.unwrap(relabelled, 'x'), CryptoError);
  });

  it('treats unreadable values as needing a rewrap', () => {
    const keyring = createKeyring([masterKey('k1')]);
    assert.equal(keyring.needsRewrap('garbage'), true);
  });

  it('refuses to be built from no key, a duplicate id, a short key or an id with a dot', () => {
    assert.throws(() => createKeyring([]), TypeError);
    assert.throws(() => createKeyring([masterKey('a'), masterKey('a')]), TypeError);
    assert.throws(() => createKeyring([{ id: 'a', key: randomBytes(16) }]), TypeError);
    assert.throws(() => createKeyring([masterKey('a.b')]), TypeError);
  });

  it('keeps its own copy of the keys', () => {
    const key = masterKey('k1');
    const keyring = createKeyring([key]);
    const wrapped = keyring.wrap(Buffer.from('secret'), 'a');
    key.key.fill(0);
    assert.equal(keyring.unwrap(wrapped, 'a').toString(), 'secret');
  });
});
