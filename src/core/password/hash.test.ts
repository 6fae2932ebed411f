import assert from 'node:assert/strict';
import { argon2Sync } from 'node:crypto';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { createPasswordHasher, MAX_PASSWORD_INPUT_LENGTH, normalizePassword } from './hash.ts';

// Low cost keeps the suite fast; the default parameters are tested where they are the point.
const FAST = { memoryKiB: 1024, passes: 1, parallelism: 1 };
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

describe('password hasher', () => {
  it('hashes with the OWASP defaults into a PHC string, and verifies', async () => {
    const hasher = createPasswordHasher();
    const stored = await hasher.hash('correct horse battery staple');
    const match = PHC.exec(stored);
    assert.ok(match, stored);
    assert.deepEqual(match.slice(1, 4), ['19456', '2', '1']);
    assert.deepEqual(await hasher.verify(stored, 'correct horse battery staple'), { ok: true, needsRehash: false });
  });

  it('refuses a wrong password', async () => {
    const hasher = createPasswordHasher(FAST);
    const stored = await hasher.hash('correct horse battery staple');
    assert.deepEqual(await hasher.verify(stored, 'correct horse battery stapl'), { ok: false, needsRehash: false });
    assert.deepEqual(await hasher.verify(stored, 'Correct horse battery staple'), { ok: false, needsRehash: false });
    assert.deepEqual(await hasher.verify(stored, ''), { ok: false, needsRehash: false });
  });

  it('writes the cost it was given into the PHC fields', async () => {
    const stored = await createPasswordHasher({ memoryKiB: 2048, passes: 3, parallelism: 2 }).hash('pw');
    assert.deepEqual(PHC.exec(stored)?.slice(1, 4), ['2048', '3', '2']);
  });

  it('asks for a rehash when the stored parameters are older than the current ones', async () => {
    const stored = await createPasswordHasher(FAST).hash('correct horse battery staple');
    const current = createPasswordHasher({ ...FAST, passes: 2 });
    assert.deepEqual(await current.verify(stored, 'correct horse battery staple'), { ok: true, needsRehash: true });
    const moreMemory = createPasswordHasher({ ...FAST, memoryKiB: 2048 });
    assert.deepEqual(await moreMemory.verify(stored, 'correct horse battery staple'), { ok: true, needsRehash: true });
    const moreLanes = createPasswordHasher({ ...FAST, parallelism: 2 });
    assert.deepEqual(await moreLanes.verify(stored, 'correct horse battery staple'), { ok: true, needsRehash: true });
    assert.deepEqual(await current.verify(stored, 'wrong'), { ok: false, needsRehash: false });
  });

  it('verifies the reference implementation test vector (phc-winner-argon2 src/test.c)', async () => {
    const reference = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';
    const hasher = createPasswordHasher(FAST);
    // The 8-byte salt and m=64 MiB differ from the current parameters: valid, but rehash.
    assert.deepEqual(await hasher.verify(reference, 'password'), { ok: true, needsRehash: true });
    assert.deepEqual(await hasher.verify(reference, 'passwore'), { ok: false, needsRehash: false });
  });

  it('agrees byte for byte with a direct argon2id computation', async () => {
    const stored = await createPasswordHasher(FAST).hash('pässwörd');
    const [, , , , salt, tag] = PHC.exec(stored)!;
    const expected = argon2Sync('argon2id', {
      message: Buffer.from('pässwörd', 'utf8'),
      nonce: Buffer.from(salt!, 'base64'),
      memory: 1024,
      passes: 1,
      parallelism: 1,
      tagLength: 32,
    });
    assert.equal(Buffer.from(tag!, 'base64').toString('hex'), expected.toString('hex'));
  });

  it('verifies imported bcrypt hashes ($2a$, $2b$, $2y$) and always asks for a rehash', async () => {
    const hasher = createPasswordHasher(FAST);
    const legacy = await bcrypt.hash('legacy password 1', 4);
    assert.match(legacy, /^\$2b\$04\$/);
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const stored = prefix + legacy.slice(4);
      assert.deepEqual(await hasher.verify(stored, 'legacy password 1'), { ok: true, needsRehash: true }, prefix);
      assert.deepEqual(await hasher.verify(stored, 'legacy password 2'), { ok: false, needsRehash: false }, prefix);
    }
  });

  it('bcrypt ignores bytes after the 72nd (the legacy limitation); the argon2id rehash does not', async () => {
    const hasher = createPasswordHasher(FAST);
    const prefix = 'x'.repeat(72);
    const legacy = await bcrypt.hash(`${prefix}one`, 4);
    assert.equal((await hasher.verify(legacy, `${prefix}two`)).ok, true);
    const rehashed = await hasher.hash(`${prefix}one`);
    assert.equal((await hasher.verify(rehashed, `${prefix}two`)).ok, false);
    assert.equal((await hasher.verify(rehashed, `${prefix}one`)).ok, true);
  });

  it('verifies an NFKC-equivalent spelling: full-width and ligature forms match plain letters', async () => {
    const hasher = createPasswordHasher(FAST);
    const stored = await hasher.hash('ｐａｓｓｗｏｒｄ　ｆｕｌｌ　ｗｉｄｔｈ');
    assert.equal((await hasher.verify(stored, 'password full width')).ok, true);
    const ligature = await hasher.hash('ﬁne ﬂowers');
    assert.equal((await hasher.verify(ligature, 'fine flowers')).ok, true);
    const composed = await hasher.hash('caf\u00e9 au lait');
    assert.equal((await hasher.verify(composed, 'cafe\u0301 au lait')).ok, true);
    assert.equal(normalizePassword('ｐａｓｓ'), 'pass');
  });

  it('salts every hash: the same password never gives the same string twice', async () => {
    const hasher = createPasswordHasher(FAST);
    const first = await hasher.hash('same password');
    const second = await hasher.hash('same password');
    assert.notEqual(first, second);
    assert.notEqual(PHC.exec(first)?.[4], PHC.exec(second)?.[4]);
  });

  it('refuses to be built with parameters its own verify would refuse', () => {
    for (const bad of [{ memoryKiB: 4_194_304 }, { passes: 0 }, { passes: 11 }, { parallelism: 9 }, { memoryKiB: 8, parallelism: 2 }, { passes: 1.5 }]) {
      assert.throws(() => createPasswordHasher({ ...FAST, ...bad }), RangeError, JSON.stringify(bad));
    }
  });

  it('refuses to hash a password longer than the input bound', async () => {
    const hasher = createPasswordHasher(FAST);
    await assert.rejects(hasher.hash('a'.repeat(MAX_PASSWORD_INPUT_LENGTH + 1)), RangeError);
    const stored = await hasher.hash('a'.repeat(MAX_PASSWORD_INPUT_LENGTH));
    assert.equal((await hasher.verify(stored, 'a'.repeat(MAX_PASSWORD_INPUT_LENGTH))).ok, true);
  });
});
