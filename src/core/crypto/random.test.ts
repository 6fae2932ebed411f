import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constantTimeEqual, hashToken, randomToken } from './random.ts';

const BASE64URL_256_BITS = /^[A-Za-z0-9_-]{43}$/;

describe('randomToken', () => {
  it('carries 256 bits by default: 43 base64url characters', () => {
    assert.match(randomToken(), BASE64URL_256_BITS);
    assert.equal(Buffer.from(randomToken(), 'base64url').length, 32);
  });

  it('never repeats across many draws', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken()));
    assert.equal(tokens.size, 1000);
  });

  it('refuses fewer than 128 bits, or a non-integer size', () => {
    assert.throws(() => randomToken(15), RangeError);
    assert.throws(() => randomToken(16.5), RangeError);
    assert.equal(Buffer.from(randomToken(16), 'base64url').length, 16);
  });
});

describe('hashToken', () => {
  it('is a deterministic SHA-256 in base64url that differs from the token', () => {
    const token = randomToken();
    assert.equal(hashToken(token), hashToken(token));
    assert.match(hashToken(token), BASE64URL_256_BITS);
    assert.notEqual(hashToken(token), token);
    assert.notEqual(hashToken(token), hashToken(randomToken()));
  });
});

describe('constantTimeEqual', () => {
  it('is true only for identical strings', () => {
    const token = randomToken();
    assert.equal(constantTimeEqual(token, token), true);
    assert.equal(constantTimeEqual(token, Buffer.from(token).toString()), true);
    assert.equal(constantTimeEqual(token, randomToken()), false);
    assert.equal(constantTimeEqual('', ''), true);
  });

  it('compares strings of different lengths without throwing', () => {
    const token = randomToken();
    assert.equal(constantTimeEqual(token, token.slice(0, -1)), false);
    assert.equal(constantTimeEqual(token, `${token}x`), false);
    assert.equal(constantTimeEqual('', token), false);
  });
});
