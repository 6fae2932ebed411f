import assert from 'node:assert/strict';
import { argon2Sync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createPasswordHasher, MAX_PASSWORD_INPUT_LENGTH, type PasswordHasherDeps } from './hash.ts';

const FAST = { memoryKiB: 1024, passes: 1, parallelism: 1 };
const SALT = 'c29tZXNhbHRzb21lc2FsdA'; // 16 bytes
const TAG = 'CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'; // 32 bytes

/**
 * Stand-ins that count calls and compute nothing (a zero tag, a failed compare), so a test
 * can prove a computation was never started, and a broken bound costs nothing to find.
 */
function countingDeps(): { deps: Required<PasswordHasherDeps>; calls: { argon2id: number; bcrypt: number } } {
  const calls = { argon2id: 0, bcrypt: 0 };
  return {
    calls,
    deps: {
      deriveArgon2id: (_message, _salt, _cost, tagLength) => {
        calls.argon2id += 1;
        return Promise.resolve(Buffer.alloc(tagLength));
      },
      compareBcrypt: () => {
        calls.bcrypt += 1;
        return Promise.resolve(false);
      },
    },
  };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// 16 bytes are 22 characters whose last one carries 2 bits and 4 unused zero bits: setting
// an unused bit gives another spelling that a lenient decoder maps to the same salt.
function nonCanonical(salt: string): string {
  const last = BASE64.indexOf(salt.at(-1)!);
  return salt.slice(0, -1) + BASE64[last + 1]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// CPU time of the whole process (the argon2 worker threads included) rather than wall time:
// on a shared, loaded CI machine the wall clock of one call swings by ±40% with the
// scheduler, while the work done, which is what an idle server's response time reflects,
// does not.
async function cpuTime(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

describe('password hasher attacks', () => {
  it('a tampered stored hash asking for 4 GiB of memory, or absurd passes or lanes, is refused before any Argon2 computation', async () => {
    const { deps, calls } = countingDeps();
    const hasher = createPasswordHasher(FAST, deps);
    const absurd = [
      `$argon2id$v=19$m=4194304,t=2,p=1$${SALT}$${TAG}`,
      `$argon2id$v=19$m=262145,t=1,p=1$${SALT}$${TAG}`,
      `$argon2id$v=19$m=19456,t=1000,p=1$${SALT}$${TAG}`,
      `$argon2id$v=19$m=19456,t=11,p=1$${SALT}$${TAG}`,
      `$argon2id$v=19$m=19456,t=2,p=255$${SALT}$${TAG}`,
      `$argon2id$v=19$m=19456,t=2,p=9$${SALT}$${TAG}`,
      `$argon2id$v=19$m=8,t=2,p=2$${SALT}$${TAG}`,
      `$argon2id$v=19$m=99999999999999999999,t=2,p=1$${SALT}$${TAG}`,
    ];
    for (const stored of absurd) {
      assert.deepEqual(await hasher.verify(stored, 'password'), { ok: false, needsRehash: false }, stored);
    }
    assert.equal(calls.argon2id, 0);
    // The bound is where it should be: the largest accepted cost is computed.
    await hasher.verify(`$argon2id$v=19$m=8,t=10,p=1$${SALT}$${TAG}`, 'password');
    assert.equal(calls.argon2id, 1);
  });

  it('a tampered bcrypt hash asking for a cost above 14 is refused before any bcrypt computation', async () => {
    const { deps, calls } = countingDeps();
    const hasher = createPasswordHasher(FAST, deps);
    const body = 'N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';
    for (const cost of ['15', '20', '31', '99', '03', '00']) {
      assert.deepEqual(await hasher.verify(`$2b$${cost}$${body}`, 'password'), { ok: false, needsRehash: false }, cost);
    }
    assert.equal(calls.bcrypt, 0);
    await hasher.verify(`$2b$04$${body}`, 'password');
    assert.equal(calls.bcrypt, 1);
  });

  it('malformed, unknown or non-canonical stored hashes never verify and never throw, even for the right password', async () => {
    const hasher = createPasswordHasher(FAST);
    const genuine = await hasher.hash('password');
    const [, algorithm, version, params, salt, tag] = genuine.split('$') as [string, string, string, string, string, string];
    const argon2i = argon2Sync('argon2i', { message: 'password', nonce: Buffer.from(salt, 'base64'), memory: 1024, passes: 1, parallelism: 1, tagLength: 32 });
    const malformed: unknown[] = [
      '',
      'password',
      '$',
      '$$$$$',
      `$${algorithm}$${version}$${params}$${salt}`,
      `$${algorithm}$${version}$${params}$${salt}$${tag}$`,
      `$${algorithm}$${version}$${params},keyid=abc$${salt}$${tag}`,
      `$${algorithm}$v=16$${params}$${salt}$${tag}`,
      `$${algorithm}$${params}$${salt}$${tag}`,
      `$argon2i$${version}$${params}$${salt}$${argon2i.toString('base64').replace(/=+$/, '')}`,
      `$argon2d$${version}$${params}$${salt}$${tag}`,
      `$ARGON2ID$${version}$${params}$${salt}$${tag}`,
      `$${algorithm}$${version}$m=01024,t=1,p=1$${salt}$${tag}`,
      `$${algorithm}$${version}$t=1,m=1024,p=1$${salt}$${tag}`,
      `$${algorithm}$${version}$m=1024,t=1,p=1$${salt}==$${tag}`,
      `$${algorithm}$${version}$${params}$${salt}$${tag}=`,
      `$${algorithm}$${version}$${params}$${nonCanonical(salt)}$${tag}`,
      `$${algorithm}$${version}$${params}$${Buffer.from(salt, 'base64').toString('base64url').replace(/=+$/, '')}_-$${tag}`,
      `$${algorithm}$${version}$${params}$c2FsdA$${tag}`,
      `$${algorithm}$${version}$${params}$${salt}$${tag.slice(0, 11)}`,
      ` ${genuine}`,
      `${genuine}\n`,
      `${genuine}${'A'.repeat(100_000)}`,
      genuine.replace('m=1024', 'm=１０２４'),
      '$2x$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
      '$2$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
      '$2b$04$short',
      '$2b$4$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWyy',
      '$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhW!',
      '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E',
      null,
      undefined,
      42,
      { toString: () => genuine },
    ];
    for (const stored of malformed) {
      assert.deepEqual(await hasher.verify(stored as string, 'password'), { ok: false, needsRehash: false }, String(stored).slice(0, 120));
    }
    // The genuine string itself is fine: the refusals above come from the tampering.
    assert.equal((await hasher.verify(genuine, 'password')).ok, true);
    // A non-string password is refused, not thrown.
    assert.deepEqual(await hasher.verify(genuine, null as unknown as string), { ok: false, needsRehash: false });
  });

  it('a multi-megabyte password in a login is refused without normalizing or hashing it, for known and unknown accounts alike', async () => {
    const { deps, calls } = countingDeps();
    const hasher = createPasswordHasher(FAST, deps);
    const stored = await createPasswordHasher(FAST).hash('password');
    const huge = 'a'.repeat(5_000_000);
    assert.deepEqual(await hasher.verify(stored, huge), { ok: false, needsRehash: false });
    await hasher.dummyVerify(huge);
    assert.deepEqual(await hasher.verify(stored, 'a'.repeat(MAX_PASSWORD_INPUT_LENGTH + 1)), { ok: false, needsRehash: false });
    assert.equal(calls.argon2id, 0);
  });

  it('an unknown email costs the same as a wrong password: dummyVerify runs one full argon2id at the current parameters', async () => {
    const hasher = createPasswordHasher();
    const stored = await hasher.hash('the real password');
    // Warm up both paths, then measure in pairs so both see the same machine load, with
    // the order alternating so that whatever the first of a pair leaves behind (garbage,
    // a cold cache) falls on each path equally; the estimate is the median of the pairs'
    // ratios, which one noisy pair cannot move.
    await hasher.verify(stored, 'a wrong password');
    await hasher.dummyVerify('a wrong password');
    const real: number[] = [];
    const dummy: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < 15; round += 1) {
      const measureReal = (): Promise<number> => cpuTime(() => hasher.verify(stored, `a wrong password ${round}`));
      const measureDummy = (): Promise<number> => cpuTime(() => hasher.dummyVerify(`a wrong password ${round}`));
      const [r, d] = round % 2 === 0 ? [await measureReal(), await measureDummy()] : [await measureDummy(), await measureReal()].reverse() as [number, number];
      real.push(r);
      dummy.push(d);
      ratios.push(d / r);
    }
    const ratio = median(ratios);
    assert.ok(ratio > 0.75 && ratio < 1.25, `dummy ${median(dummy).toFixed(1)} ms vs real ${median(real).toFixed(1)} ms of CPU (median ratio of pairs ${ratio.toFixed(2)})`);
  });

  it('dummyVerify computes one argon2id for every password, the empty one included', async () => {
    const { deps, calls } = countingDeps();
    const hasher = createPasswordHasher(FAST, deps);
    await hasher.dummyVerify('');
    await hasher.dummyVerify('password');
    assert.equal(calls.argon2id, 2);
  });
});
