import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createGuessabilityEstimator, preloadGuessability } from './guessability.ts';
import { createPasswordPolicy } from './policy.ts';

const estimator = createGuessabilityEstimator();
const policy = createPasswordPolicy({}, { estimator });

// Deterministic "random" characters, so a failure reproduces.
function pseudoRandom(alphabet: string, length: number, seed: string): string {
  const symbols = Array.from(alphabet);
  let out = '';
  for (let counter = 0; Array.from(out).length < length; counter += 1) {
    for (const byte of createHash('sha256').update(`${seed}:${counter}`).digest()) {
      out += symbols[byte % symbols.length]!;
    }
  }
  return Array.from(out).slice(0, length).join('');
}

// Process CPU: the dictionaries are loaded before (their builder is another process, but
// decoding its output is not).
async function cpuMilliseconds(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

describe('password policy attacks', () => {
  before(preloadGuessability);

  it('a refusal never echoes the password, so it cannot end up in responses or logs', async () => {
    const context = { email: 'zephyrine@example.com', name: 'Zephyrine Moss' };
    const refused = ['password1234', 'zephyrine-crimson-kites', 'aaaaaaaaaaaaaaaa', 'qwertyuiopasdfgh', 'Tr0ub4dor', 'p@ssw0rd1234', 'abc', 'x'.repeat(300), '1234567890123'];
    for (const password of refused) {
      const result = await policy.check(password, context);
      assert.equal(result.ok, false, password);
      const text = JSON.stringify(result).toLowerCase();
      assert.ok(!text.includes(password.toLowerCase()), `${password} echoed in ${text}`);
    }
  });

  it('a 256-character adversarial password cannot tie up the server: each check stays well under a second of CPU', async () => {
    const adversarial = {
      random: pseudoRandom('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 256, 'random'),
      l33t: pseudoRandom('4@83(<{[6|)#9&1!|7^2n0()$5+%><', 256, 'l33t'),
      digits: pseudoRandom('0123456789', 256, 'digits'),
      dates: '19871231-'.repeat(29).slice(0, 256),
      keyboard: 'qwertyuiop[]asdfghjkl;zxcvbnm,./'.repeat(8),
      repeatedBlock: 'x7$Kq!z9Lm@2'.repeat(22).slice(0, 256),
      words: 'passwordsunshinedragonmonkeyletmein'.repeat(8).slice(0, 256),
      ones: '1'.repeat(256),
      emoji: pseudoRandom('🦄🌈🔥😀👍', 256, 'emoji'),
    };
    let worst = 0;
    for (const [name, password] of Object.entries(adversarial)) {
      const spent = await cpuMilliseconds(() => policy.check(password, { email: 'alice.smith@example.com', name: 'Alice Smith' }));
      worst = Math.max(worst, spent);
      assert.ok(spent < 1000, `${name}: ${spent.toFixed(0)} ms of CPU`);
    }
    assert.ok(worst > 0);
  });

  it('a multi-megabyte password is refused as too long before it is normalized or scored', async () => {
    // U+FDFA is one code unit that NFKC expands to 18: normalizing 5 MB of it would be 90 MB.
    const huge = '\ufdfa'.repeat(5_000_000);
    const spent = await cpuMilliseconds(async () => {
      assert.deepEqual(await policy.check(huge, {}), { ok: false, reasons: ['too_long'], suggestions: ['Use at most 256 characters.'] });
    });
    assert.ok(spent < 100, `${spent.toFixed(0)} ms of CPU`);
  });

  it('full-width letters or capitals do not smuggle the email or name past the personal-information check', async () => {
    const context = { email: 'zephyrine@example.com', name: 'Marguerite Okonkwo' };
    for (const password of ['ＺＥＰＨＹＲＩＮＥ crimson kites', 'ZePhYrInE crimson kites', 'crimson ＯＫＯＮＫＷＯ kites', 'crimson kites ﬁ okonkwo']) {
      const result = await policy.check(password, context);
      assert.ok(!result.ok && result.reasons.includes('contains_personal_info'), password);
    }
  });
});
