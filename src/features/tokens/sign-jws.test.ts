import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { signEdDSAJWT } from './sign-jws.ts';

describe('EdDSA JWS signing', () => {
  it('writes a compact JWS that jose verifies, header and claims intact', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const token = signEdDSAJWT({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }, { sub: 'u', sid: 's', roles: ['user'], iat: 1, exp: 4_000_000_000 }, privateKey);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' });
    const { payload } = await jwtVerify(token, publicKey, { algorithms: ['EdDSA'], typ: 'at+jwt' });
    assert.deepEqual(payload, { sub: 'u', sid: 's', roles: ['user'], iat: 1, exp: 4_000_000_000 });
  });

  it('signs with an Ed25519 private key only', () => {
    const header = { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' } as const;
    assert.throws(() => signEdDSAJWT(header, {}, generateKeyPairSync('ed448').privateKey), TypeError);
    assert.throws(() => signEdDSAJWT(header, {}, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), TypeError);
    assert.throws(() => signEdDSAJWT(header, {}, generateKeyPairSync('ed25519').publicKey), TypeError);
  });
});
