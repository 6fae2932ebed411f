import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from 'otpauth';
import { createTotpSecret, matchTotp, totpCodeAt, totpStep, totpURI } from './totp.ts';

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890"; the
// 8-digit codes there end in the 6-digit ones below (a code is the low digits of one number).
const RFC_SECRET = { base32: new Secret({ buffer: new Uint8Array(Buffer.from('12345678901234567890', 'ascii')).buffer }).base32 };
const RFC_VECTORS: readonly [number, string][] = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
  [20000000000, '353130'],
];

describe('TOTP codes (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  it('matches the RFC 6238 test vectors, each to its own time step', () => {
    for (const [seconds, code] of RFC_VECTORS) {
      const now = new Date(seconds * 1000);
      assert.equal(totpCodeAt(RFC_SECRET, totpStep(now)), code, `T=${seconds}`);
      assert.equal(matchTotp(RFC_SECRET, code, now), totpStep(now), `T=${seconds}`);
    }
  });

  it('accepts the step before and after the current one, and no other', () => {
    const secret = createTotpSecret();
    const now = new Date(Date.UTC(2031, 0, 1, 12, 0, 15));
    const step = totpStep(now);
    for (const offset of [-1, 0, 1]) assert.equal(matchTotp(secret, totpCodeAt(secret, step + offset), now), step + offset, `offset ${offset}`);
    for (const offset of [-3, -2, 2, 3]) {
      const code = totpCodeAt(secret, step + offset);
      // A code of a far step can coincide with a near one (1 in 10^6 per step): skip that draw.
      if ([-1, 0, 1].some((near) => totpCodeAt(secret, step + near) === code)) continue;
      assert.equal(matchTotp(secret, code, now), null, `offset ${offset}`);
    }
  });

  it('refuses anything but six ASCII digits before computing, and another secret\'s code', () => {
    const secret = createTotpSecret();
    const now = new Date();
    const code = totpCodeAt(secret, totpStep(now));
    for (const bad of ['', '12345', '1234567', `${code} `, ` ${code}`, code.replace(/^\d/, 'a'), '１２３４５６', '12345\u0000']) {
      assert.equal(matchTotp(secret, bad, now), null, JSON.stringify(bad));
    }
    const other = createTotpSecret();
    if (totpCodeAt(other, totpStep(now)) !== code) assert.equal(matchTotp(other, code, now), null);
  });

  it('makes 160-bit secrets from the CSPRNG, different each time, and an otpauth URI that names issuer and account', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => createTotpSecret().base32));
    assert.equal(secrets.size, 50);
    for (const base32 of secrets) assert.equal(Secret.fromBase32(base32).bytes.length, 20);
    const secret = createTotpSecret();
    const uri = new URL(totpURI(secret, { issuer: 'Gatehouse', account: 'ada@example.test' }));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), secret.base32);
    assert.equal(uri.searchParams.get('issuer'), 'Gatehouse');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.match(decodeURIComponent(uri.pathname), /ada@example\.test/);
  });
});
