// Hostile input to passkey verification: random and malformed JSON of every shape,
// corrupted bytes behind a live challenge, and attestation statements carrying
// certificates. Whatever arrives, the answer is a refusal with a reason, never an
// exception, and nothing reaches the WebAuthn library that it would fetch URLs for.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { Cbor } from '../../../test/helpers/software-authenticator.ts';
import { readAttestation } from './attestation.ts';
import { authenticator, enrolled, newUser, ORIGIN, testPasskeys } from './passkeys.fixtures.ts';

for (const engine of testEngines()) {
  describe(`hostile passkey input on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('attestation carrying certificates (any format but none and packed self-attestation) is refused before the library walks its chain', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const userId = await newUser(db);
      const certificate = new Uint8Array(randomBytes(300));
      const withCertificates: readonly { fmt: string; attStmt: ReadonlyMap<Cbor, Cbor> }[] = [
        { fmt: 'packed', attStmt: new Map<Cbor, Cbor>([['alg', -7], ['sig', new Uint8Array(64)], ['x5c', [certificate]]]) },
        { fmt: 'apple', attStmt: new Map<Cbor, Cbor>([['x5c', [certificate]]]) },
        { fmt: 'fido-u2f', attStmt: new Map<Cbor, Cbor>([['sig', new Uint8Array(64)], ['x5c', [certificate]]]) },
        { fmt: 'none', attStmt: new Map<Cbor, Cbor>([['x5c', [certificate]]]) },
      ];
      for (const attestation of withCertificates) {
        const response = authenticator().register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { attestation });
        assert.deepEqual(await passkeys.verifyRegistration(db, { userId, response }), { ok: false, reason: 'malformed' }, attestation.fmt);
        assert.equal(await readAttestation(response.response.attestationObject), null, attestation.fmt);
      }
      // Self-attestation has no certificate: accepted, its signature checked.
      const self = authenticator().register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { attestation: 'packed-self' });
      assert.equal((await passkeys.verifyRegistration(db, { userId, response: self })).ok, true);
      const badSelf = authenticator().register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { attestation: { fmt: 'packed', attStmt: new Map<Cbor, Cbor>([['alg', -7], ['sig', new Uint8Array(70)]]) } });
      assert.equal((await passkeys.verifyRegistration(db, { userId, response: badSelf })).ok, false);
    });

    it('random and malformed input never throws: every answer is a refusal', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const valid = device.authenticate((await passkeys.secondFactorOptions(userId))!);
      const registration = authenticator().register(await passkeys.registrationOptions({ id: userId, name: 'a' }));
      const base64url = fc.base64String().map((text) => text.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', ''));
      const field = fc.oneof(fc.anything(), base64url, fc.constant(valid.id), fc.string({ maxLength: 3000 }));
      const shapes = fc.oneof(
        fc.anything(),
        fc.record({ id: field, rawId: field, type: fc.oneof(fc.constant('public-key'), fc.string()), response: fc.oneof(fc.anything(), fc.record({ clientDataJSON: field, authenticatorData: field, signature: field, userHandle: field, attestationObject: field, transports: fc.anything() })) }),
        // A valid response with one field replaced.
        fc.tuple(fc.constantFrom('clientDataJSON', 'authenticatorData', 'signature', 'userHandle'), field).map(([key, value]) => ({ ...valid, response: { ...valid.response, [key]: value } })),
        fc.tuple(fc.constantFrom('clientDataJSON', 'attestationObject', 'transports'), field).map(([key, value]) => ({ ...registration, response: { ...registration.response, [key]: value } })),
        // Valid base64url around JSON or bytes that are not what they should be.
        fc.tuple(fc.jsonValue(), fc.uint8Array({ maxLength: 200 })).map(([json, bytes]) => ({ ...valid, response: { ...valid.response, clientDataJSON: Buffer.from(JSON.stringify(json)).toString('base64url'), authenticatorData: Buffer.from(bytes).toString('base64url') } })),
        fc.uint8Array({ maxLength: 400 }).map((bytes) => ({ ...registration, response: { ...registration.response, attestationObject: Buffer.from(bytes).toString('base64url') } })),
      );
      await fc.assert(
        fc.asyncProperty(shapes, async (input) => {
          for (const result of [
            await passkeys.verifySecondFactor(db, { userId, response: input }),
            await passkeys.verifyPasswordless(db, { response: input }),
            await passkeys.verifyRegistration(db, { userId, response: input }),
          ]) {
            assert.equal(result.ok, false);
          }
        }),
        { numRuns: 150 },
      );
      assert.equal((await passkeys.list(userId)).length, 1);
      assert.equal(ORIGIN, passkeys.relyingParty.origin);
    });

    it('corrupted bytes behind a live challenge never throw either: flipped, truncated or random authenticator data, signatures and attestation objects', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator({ algorithm: 'Ed25519' });
      const { userId } = await enrolled(db, passkeys, device);
      const corrupt = fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((random) => (): Buffer => Buffer.from(random)),
        fc.nat().map((cut) => (bytes: Buffer): Buffer => bytes.subarray(0, cut % bytes.length)),
        fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => (bytes: Buffer): Buffer => {
          const copy = Buffer.from(bytes);
          const index = at % copy.length;
          copy[index] = (copy[index] ?? 0) ^ mask;
          return copy;
        }),
      );
      const apply = (encoded: string, change: (bytes: Buffer) => Buffer): string => change(Buffer.from(encoded, 'base64url')).toString('base64url');
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('authenticatorData', 'signature', 'attestationObject'), corrupt, async (target, change) => {
          if (target === 'attestationObject') {
            const response = authenticator().register(await passkeys.registrationOptions({ id: userId, name: 'a' }));
            const changed = { ...response, response: { ...response.response, attestationObject: apply(response.response.attestationObject, change) } };
            const result = await passkeys.verifyRegistration(db, { userId, response: changed });
            // A flip inside the COSE key's bytes may still leave a valid, different key: the
            // registration then stores that key, which proves nothing. Only no exception counts.
            assert.equal(typeof result.ok, 'boolean');
            return;
          }
          const response = device.authenticate(await passkeys.passwordlessOptions());
          const changed = { ...response, response: { ...response.response, [target]: apply(response.response[target], change) } };
          assert.equal((await passkeys.verifyPasswordless(db, { response: changed })).ok, false);
        }),
        { numRuns: 150 },
      );
    });
  });
}
