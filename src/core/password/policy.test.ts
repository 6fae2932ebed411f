import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGuessabilityEstimator } from './guessability.ts';
import { createPasswordPolicy, type PasswordPolicyResult } from './policy.ts';

// Building zxcvbn's dictionaries takes a few hundred milliseconds: share one estimator.
const estimator = createGuessabilityEstimator();
const policy = createPasswordPolicy({}, { estimator });

function reasonsOf(result: PasswordPolicyResult): readonly string[] {
  return result.ok ? [] : result.reasons;
}

describe('password policy', () => {
  it('refuses a common password from the breach list', async () => {
    const result = await policy.check('password1234', {});
    assert.equal(result.ok, false);
    assert.ok(reasonsOf(result).includes('common_password'));
    assert.ok(reasonsOf(await policy.check('Password1234', {})).includes('common_password'));
  });

  it('accepts long passphrases with no digits, symbols or capitals: no composition rules', async () => {
    for (const passphrase of ['crimson kites over quiet harbors', 'purple otter lantern galaxy', 'страшный кот летает ночью']) {
      assert.deepEqual(await policy.check(passphrase, { email: 'someone@example.com', name: 'Some One' }), { ok: true }, passphrase);
    }
  });

  it('refuses a password containing the email, its local part, or a part of it', async () => {
    const email = 'zephyrine.moss@example.com';
    for (const password of ['zephyrine-crimson-kites-77', 'crimson kites zephyrine.moss', `kites ${email} 77`, 'crimson kites mossy harbor']) {
      assert.deepEqual(reasonsOf(await policy.check(password, { email })), ['contains_personal_info'], password);
    }
    // A 3-character local part counts as a whole.
    assert.deepEqual(reasonsOf(await policy.check('crimson bob kites harbor', { email: 'bob@example.com' })), ['contains_personal_info']);
  });

  it('refuses a password containing the name, in any case', async () => {
    assert.deepEqual(reasonsOf(await policy.check('xx ANN LEE crimson kites', { name: 'Ann Lee' })), ['contains_personal_info']);
    assert.deepEqual(reasonsOf(await policy.check('okonkwo crimson kites 88', { name: 'Marguerite Okonkwo' })), ['contains_personal_info']);
    assert.deepEqual(await policy.check('crimson kites over quiet harbors', { name: null }), { ok: true });
  });

  it('refuses 11 characters with the default minimum of 12', async () => {
    assert.equal(policy.minLength, 12);
    assert.deepEqual(reasonsOf(await policy.check('qZ7#mK2$vL9', {})), ['too_short']);
  });

  it('allows 8 characters when configured, never fewer', async () => {
    const eight = createPasswordPolicy({ minLength: 8 }, { estimator });
    assert.deepEqual(await eight.check('ñandú🦩ж!', {}), { ok: true });
    assert.deepEqual(reasonsOf(await policy.check('ñandú🦩ж!', {})), ['too_short']);
    assert.throws(() => createPasswordPolicy({ minLength: 7 }, { estimator }), RangeError);
    assert.throws(() => createPasswordPolicy({ minLength: 12.5 }, { estimator }), RangeError);
    assert.throws(() => createPasswordPolicy({ minLength: 20, maxLength: 19 }, { estimator }), RangeError);
  });

  it('refuses 257 characters and accepts 256 with the default maximum', async () => {
    const words = 'crimson kites over quiet harbors drift past amber lighthouses while seven herons argue ';
    const long = words.repeat(4);
    assert.deepEqual(await policy.check(long.slice(0, 256), {}), { ok: true });
    assert.deepEqual(reasonsOf(await policy.check(long.slice(0, 257), {})), ['too_long']);
  });

  it('counts length in code points after NFKC, so emoji and combining accents count once', async () => {
    const emoji = ['🦄', '🌈', '🔥', '🐙', '🎻', '🧲', '🛶', '🪁', '🐳', '🌵', '🍄', '🚲'];
    assert.deepEqual(reasonsOf(await policy.check(emoji.slice(0, 11).join(''), {})), ['too_short']);
    assert.deepEqual(await policy.check(emoji.join(''), {}), { ok: true });
    // Eleven é written as e + U+0301 are 22 code points before NFKC, 11 after.
    assert.deepEqual(reasonsOf(await policy.check('ékélépéwézé'.normalize('NFD'), {})), ['too_short']);
    assert.deepEqual(await policy.check('ｃｒｉｍｓｏｎ ｋｉｔｅｓ ｈａｒｂｏｒ', {}), { ok: true });
  });

  it('refuses an easily guessed password that is long enough, with zxcvbn suggestions', async () => {
    const result = await policy.check('aaaaaaaaaaaaaaaa', {});
    assert.deepEqual(reasonsOf(result), ['too_guessable']);
    assert.ok(!result.ok && result.suggestions.some((sentence) => sentence.includes('Repeated characters')));
    assert.deepEqual(reasonsOf(await policy.check('qwertyuiopasdfgh', {})), ['too_guessable']);
  });

  it('refuses a password with a lone surrogate, which is no character at all', async () => {
    assert.deepEqual(reasonsOf(await policy.check('crimson kites \ud800 over quiet harbors', {})), ['invalid_unicode']);
  });

  it('answers with stable reason codes and sentences', async () => {
    const result = await policy.check('password', { email: 'password@example.com' });
    assert.equal(result.ok, false);
    assert.deepEqual(result.reasons, ['too_short', 'common_password', 'contains_personal_info', 'too_guessable']);
    for (const sentence of result.suggestions) assert.match(sentence, /^[A-Z].*\.$/);
  });
});
