import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyring, CryptoError, type Keyring } from './keyring.ts';

function keyring(): Keyring {
  return createKeyring([{ id: 'k1', key: randomBytes(32) }]);
}

function refused(fn: () => unknown): CryptoError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CryptoError, 'expected a CryptoError');
  return caught;
}

// Flips one bit of the decoded bytes of part `index` and re-encodes it canonically.
function flipBit(wrapped: string, index: number, byte: number): string {
  const parts = wrapped.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64url');
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('keyring attacks', () => {
  it('a wrapped key replayed under another slot (another AAD) is refused', () => {
    const ring = keyring();
    const wrapped = ring.wrap(randomBytes(32), 'data-key:alice');
    refused(() => ring.unwrap(wrapped, 'data-key:mallory'));
    refused(() => ring.unwrap(wrapped, ''));
  });

  it('a flipped bit anywhere in the IV, the ciphertext or the tag is refused', () => {
    const ring = keyring();
    const wrapped = ring.wrap(randomBytes(32), 'a');
    for (let byte = 0; byte < 12; byte += 1) refused(() => ring.unwrap(flipBit(wrapped, 2, byte), 'a'));
    for (let byte = 0; byte < 48; byte += 1) refused(() => ring.unwrap(flipBit(wrapped, 3, byte), 'a'));
  });

  it('a truncated or extended ciphertext+tag is refused', () => {
    const ring = keyring();
    const wrapped = ring.wrap(randomBytes(32), 'a');
    const parts = wrapped.split('.');
    const sealed = Buffer.from(parts[3] ?? '', 'base64url');
    for (const changed of [sealed.subarray(0, sealed.length - 4), sealed.subarray(4), Buffer.concat([sealed, Buffer.alloc(1)])]) {
      refused(() => ring.unwrap([parts[0], parts[1], parts[2], changed.toString('base64url')].join('.'), 'a'));
    }
  });

  it('a non-canonical encoding of a valid value is refused (no malleable text forms)', () => {
    const ring = keyring();
    const wrapped = ring.wrap(randomBytes(32), 'a');
    const parts = wrapped.split('.');
    for (const variant of [`${parts[3]}=`, `${parts[3]}!`, ` ${parts[3]}`, `${(parts[3] ?? '').slice(0, 10)}*${(parts[3] ?? '').slice(10)}`]) {
      const detail = refused(() => ring.unwrap([parts[0], parts[1], parts[2], variant].join('.'), 'a')).detail;
      assert.equal(detail, 'malformed');
    }
  });

  it('every failure carries the same public message, so the error is no oracle', () => {
    const ring = keyring();
    const wrapped = ring.wrap(randomBytes(32), 'a');
    const failures = [
      refused(() => ring.unwrap(wrapped, 'b')),
      refused(() => ring.unwrap(flipBit(wrapped, 3, 0), 'a')),
      refused(() => ring.unwrap(wrapped.replace('v1.k1.', 'v1.k2.'), 'a')),
      refused(() => ring.unwrap('not a wrapped value', 'a')),
    ];
    assert.deepEqual(new Set(failures.map((error) => error.detail)), new Set(['authentication_failed', 'unknown_key', 'malformed']));
    for (const error of failures) {
      assert.equal(error.message, 'The data could not be decrypted.');
      assert.equal(error.code, 'crypto_failed');
    }
  });
});
