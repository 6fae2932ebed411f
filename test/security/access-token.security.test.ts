// Forged, tampered, expired and revoked access tokens against a real protected route
// (GET /v1/me). Every forgery is built the way an attacker would, with jose and
// node:crypto, and a control forgery with all claims right is accepted, so each refusal
// below is down to the one thing that was changed.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, createPublicKey, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, exportJWK, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { rotateSigningKeys } from '../../src/features/tokens/signing-keys.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { logIn, manualClock, registerVerified, type ManualClock, type Tokens } from './security.fixtures.ts';

interface PublicJWK {
  kid: string;
  kty: string;
  crv: string;
  x: string;
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function parts(token: string): [string, string, string] {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return [header, payload, signature];
}

async function sign(key: KeyObject | Uint8Array, header: JWTHeaderParameters, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

for (const engine of testEngines()) {
  describe(`access token attacks on ${engine.engine}`, () => {
    let app: EngineApp;
    let time: ManualClock;

    before(async () => {
      time = manualClock();
      app = await startEngineApp(engine, { clock: time.clock });
    });
    after(() => app.close());

    async function newSession(): Promise<Tokens> {
      const email = uniqueEmail('at');
      const password = strongPassword();
      await registerVerified(app, email, password);
      return logIn(app, email, password);
    }

    async function me(authorization: string | null): Promise<number> {
      const headers: Record<string, string> = authorization === null ? {} : { authorization };
      const response = await app.client.request('GET', '/v1/me', { headers });
      if (response.status === 401) {
        // RFC 6750 §3: a presented bearer token that fails is invalid_token; no bearer credentials, no error.
        const presented = authorization !== null && /^bearer(?: |$)/i.test(authorization);
        assert.equal(response.headers.get('www-authenticate'), presented ? 'Bearer error="invalid_token"' : 'Bearer', String(authorization).slice(0, 40));
        assert.doesNotMatch(response.text, /"email"/);
      }
      return response.status;
    }
    const bearer = (token: string): Promise<number> => me(`Bearer ${token}`);

    /** Our active key, as only the server should hold it. */
    async function ourKey(): Promise<{ kid: string; privateKey: KeyObject }> {
      return app.services.signingKeys.current();
    }

    /** Claims of a fresh genuine token, to re-sign with one thing changed. */
    async function genuineClaims(): Promise<{ header: JWTHeaderParameters; claims: JWTPayload }> {
      const token = (await newSession()).access_token;
      return { header: decodeProtectedHeader(token) as JWTHeaderParameters, claims: decodeJwt(token) };
    }

    it('control: a token re-signed by us with the genuine claims is accepted', async () => {
      const { header, claims } = await genuineClaims();
      const { privateKey } = await ourKey();
      assert.equal(await bearer(await sign(privateKey, header, claims)), 200);
    });

    it('a token for another audience is refused', async () => {
      const { header, claims } = await genuineClaims();
      const { privateKey } = await ourKey();
      for (const aud of ['https://other-api.example', `${String(claims.aud)}/`, '']) {
        assert.equal(await bearer(await sign(privateKey, header, { ...claims, aud })), 401, aud);
      }
      const withoutAudience = { ...claims };
      delete withoutAudience.aud;
      assert.equal(await bearer(await sign(privateKey, header, withoutAudience)), 401, 'no aud');
    });

    it('a token from another issuer is refused', async () => {
      const { header, claims } = await genuineClaims();
      const { privateKey } = await ourKey();
      for (const iss of ['https://evil.example', `${String(claims.iss)}/`]) {
        assert.equal(await bearer(await sign(privateKey, header, { ...claims, iss })), 401, iss);
      }
      const withoutIssuer = { ...claims };
      delete withoutIssuer.iss;
      assert.equal(await bearer(await sign(privateKey, header, withoutIssuer)), 401, 'no iss');
    });

    it('a token of another type (typ JWT, not at+jwt) signed by us is refused', async () => {
      const { header, claims } = await genuineClaims();
      const { privateKey } = await ourKey();
      assert.equal(await bearer(await sign(privateKey, { ...header, typ: 'JWT' }, claims)), 401);
    });

    it('a tampered payload (sub or sid swapped to another user, signature kept) is refused', async () => {
      const victim = await newSession();
      const other = await newSession();
      const [header, , signature] = parts(victim.access_token);
      const claims = decodeJwt(victim.access_token);
      const otherClaims = decodeJwt(other.access_token);
      assert.equal(await bearer(victim.access_token), 200);
      for (const change of [{ sub: otherClaims.sub }, { sid: otherClaims['sid'] }, { sub: otherClaims.sub, sid: otherClaims['sid'] }, { roles: ['admin'] }]) {
        const tampered = `${header}.${segment({ ...claims, ...change })}.${signature}`;
        assert.equal(await bearer(tampered), 401, JSON.stringify(Object.keys(change)));
      }
    });

    // jose refuses "none" and an HMAC keyed with our Ed25519 public key on its own as well,
    // so these two hold even without the `algorithms` allowlist; the test after them is
    // the one that fails without it.
    it('an unsigned alg "none" token is refused', async () => {
      const genuine = (await newSession()).access_token;
      const header = decodeProtectedHeader(genuine);
      const claims = decodeJwt(genuine);
      const [, , genuineSignature] = parts(genuine);
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        const unsigned = `${segment({ ...header, alg })}.${segment(claims)}`;
        assert.equal(await bearer(`${unsigned}.`), 401, alg);
        assert.equal(await bearer(`${unsigned}.${genuineSignature}`), 401, `${alg} with a genuine signature`);
      }
    });

    it('an HS256 token keyed with our published public key (algorithm confusion) is refused', async () => {
      const { header, claims } = await genuineClaims();
      const jwks = (await app.client.request<{ keys: PublicJWK[] }>('GET', '/.well-known/jwks.json')).json().keys;
      const jwk = jwks.find((key) => key.kid === header.kid);
      assert.ok(jwk !== undefined, 'the signing key is published');
      const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
      const secrets: [string, Uint8Array][] = [
        ['raw x', Buffer.from(jwk.x, 'base64url')],
        ['x text', Buffer.from(jwk.x)],
        ['PEM', Buffer.from(publicKey.export({ format: 'pem', type: 'spki' }))],
        ['DER', publicKey.export({ format: 'der', type: 'spki' })],
        ['JWK JSON', Buffer.from(JSON.stringify(jwk))],
      ];
      for (const [name, secret] of secrets) {
        for (const alg of ['HS256', 'HS384', 'HS512']) {
          assert.equal(await bearer(await sign(secret, { ...header, alg }, claims)), 401, `${alg} keyed with ${name}`);
        }
      }
    });

    it('a token signed by our own key under another algorithm name (alg "Ed25519", which jose would verify) is refused: only EdDSA is allowlisted', async () => {
      const { header, claims } = await genuineClaims();
      const { privateKey } = await ourKey();
      assert.equal(await bearer(await sign(privateKey, { ...header, alg: 'EdDSA' }, claims)), 200, 'control');
      assert.equal(await bearer(await sign(privateKey, { ...header, alg: 'Ed25519' }, claims)), 401);
    });

    it('a token signed by an Ed25519 key not in our JWKS is refused, whatever kid or embedded key it names', async () => {
      const { header, claims } = await genuineClaims();
      const attacker = generateKeyPairSync('ed25519');
      const embedded = await exportJWK(attacker.publicKey);
      const headers: JWTHeaderParameters[] = [
        { ...header },
        { ...header, kid: randomBytes(16).toString('base64url') },
        { ...header, jwk: embedded },
        { alg: 'EdDSA', typ: 'at+jwt', jwk: embedded },
        { alg: 'EdDSA', typ: 'at+jwt' },
      ];
      for (const forged of headers) {
        assert.equal(await bearer(await sign(attacker.privateKey, forged, claims)), 401, JSON.stringify(Object.keys(forged)));
      }
    });

    it('a token naming an unknown kid is refused, even when signed by our real key', async () => {
      const { header, claims } = await genuineClaims();
      const { privateKey } = await ourKey();
      for (const kid of [randomBytes(16).toString('base64url'), 'x'.repeat(300), '../../etc/passwd', '']) {
        assert.equal(await bearer(await sign(privateKey, { ...header, kid }, claims)), 401, kid.slice(0, 30));
      }
    });

    it('a logged-out session\'s access token is refused at once', async () => {
      const { access_token: token } = await newSession();
      assert.equal(await bearer(token), 200);
      assert.equal((await app.client.request('POST', '/v1/auth/logout', { token })).status, 204);
      assert.equal(await bearer(token), 401);
    });

    it('a session revoked elsewhere (another instance, an admin) is refused within 1 s', async () => {
      const session = await newSession();
      assert.equal(await bearer(session.access_token), 200);
      await app.database.db
        .updateTable('sessions')
        .set({ revoked_at: time.clock(), revoked_reason: 'test_revoked_elsewhere' })
        .where('id', '=', session.session_id)
        .execute();
      time.advanceMs(1000);
      assert.equal(await bearer(session.access_token), 401);
    });

    it('missing and garbage Authorization headers are refused', async () => {
      const { access_token: token } = await newSession();
      const garbage: (string | null)[] = [
        null,
        '',
        'Bearer',
        'Bearer ',
        'Basic x',
        `Basic ${Buffer.from('admin:admin').toString('base64')}`,
        `Token ${token}`,
        `Bearer ${token} ${token}`,
        `Bearer ${token}x`,
        `Bearer  ${token}`,
        'Bearer a.b.c',
        'Bearer ...',
        `Bearer ${'a'.repeat(5 * 1024)}`,
        `Bearer ${parts(token)[0]}.${Buffer.from('x'.repeat(5 * 1024)).toString('base64url')}.${parts(token)[2]}`,
      ];
      for (const authorization of garbage) {
        assert.equal(await me(authorization), 401, String(authorization).slice(0, 40));
      }
      assert.equal(await bearer(token), 200, 'the genuine token still works');
    });

    it('an expired token is refused once past exp plus the 60 s clock tolerance', async () => {
      const { access_token: token } = await newSession();
      const exp = decodeJwt(token).exp!;
      assert.equal(await bearer(token), 200);
      time.advanceMs(exp * 1000 - time.clock().getTime() - 1000);
      assert.equal(await bearer(token), 200, 'still valid a second before exp');
      time.advanceSeconds(1 + 61);
      assert.equal(await bearer(token), 401);
      const expired = await app.client.request('GET', '/v1/me', { token });
      assert.equal(expired.headers.get('www-authenticate'), 'Bearer error="invalid_token"', 'the client is told its token is no longer good');
      const without = await app.client.request('GET', '/v1/me');
      assert.equal(without.headers.get('www-authenticate'), 'Bearer', 'no credentials, no error attribute');
    });

    it('a token issued before a signing key rotation keeps working after it', async () => {
      const before = await newSession();
      const oldKid = decodeProtectedHeader(before.access_token).kid;
      const rotated = await rotateSigningKeys(app.database.db, {
        keyring: app.keyring,
        clock: time.clock,
        accessTokenTtlSeconds: app.config.auth.accessTokenTtl,
      });
      assert.equal(rotated.retiredKid, oldKid);
      // Past the key source's refresh and the verified-token cache, so this is a fresh check.
      time.advanceSeconds(61);
      assert.equal(await bearer(before.access_token), 200);
      const after = await newSession();
      assert.equal(decodeProtectedHeader(after.access_token).kid, rotated.activeKid);
      assert.equal(await bearer(after.access_token), 200);
      const published = (await app.client.request<{ keys: PublicJWK[] }>('GET', '/.well-known/jwks.json')).json().keys.map((key) => key.kid);
      assert.ok(published.includes(rotated.retiredKid) && published.includes(rotated.activeKid));
    });
  });
}
