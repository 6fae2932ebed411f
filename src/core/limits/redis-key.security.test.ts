// The Redis key of a counter: `<prefix><limit>:{<subject>}`, the subject a Redis Cluster
// hash tag. What must hold whatever the subject (an address a trusted proxy reported may
// be any text): the tag Redis reads is exactly the subject, so all of its limits share one
// slot and no subject can name a slot, or a key, of another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { redisCounterKey } from './redis-store.ts';

const PREFIX = 'gatehouse:rl:';

/** What Redis hashes for a key (cluster-spec "Hash tags"): the text inside the first {...} if not empty, else the key. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

describe('redis counter keys', () => {
  it('are <prefix><limit>:{<subject>} for the subjects the limits use', () => {
    assert.equal(redisCounterKey(PREFIX, 'global:203.0.113.7'), 'gatehouse:rl:global:{203.0.113.7}');
    assert.equal(redisCounterKey(PREFIX, 'auth-account:2001:0db8:0000:0001::/64|email:AbC-_x'), 'gatehouse:rl:auth-account:{2001:0db8:0000:0001::/64|email:AbC-_x}');
    assert.equal(redisCounterKey(PREFIX, 'recipient:email:AbC-_x'), 'gatehouse:rl:recipient:{email:AbC-_x}');
  });

  it('a subject with braces cannot move its counter to the slot of another subject', () => {
    // Unescaped, `}` would end the tag early: `{evil}x}` hashes as `evil`, another client's slot.
    assert.equal(redisCounterKey(PREFIX, 'global:evil}x'), 'gatehouse:rl:global:{evil%7Dx}');
    assert.equal(redisCounterKey(PREFIX, 'global:{evil}'), 'gatehouse:rl:global:{%7Bevil%7D}');
    assert.equal(hashedPart(redisCounterKey(PREFIX, 'global:evil}x')), 'evil%7Dx');
    // `%` is escaped too, so an escaped subject never collides with one written that way.
    assert.notEqual(redisCounterKey(PREFIX, 'global:a}'), redisCounterKey(PREFIX, 'global:a%7D'));
    // The tag is never empty (an empty tag would hash the whole key, per limit).
    assert.equal(redisCounterKey(PREFIX, 'global:'), 'gatehouse:rl:global:{%}');
  });

  it('whatever the subject: one tag per subject, shared by every limit, and no two subjects share a key', () => {
    // Mostly the characters that matter (braces, `%` and what follows it in an escape), and any other.
    const character = fc.oneof(fc.constantFrom('{', '}', '%', '7', 'B', 'D', '2', '5', ':', '|'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
    const subject = fc.string({ unit: character, maxLength: 24 });
    fc.assert(fc.property(subject, subject, (a, b) => {
      const keyA = redisCounterKey(PREFIX, `global:${a}`);
      const tag = hashedPart(keyA);
      assert.equal(hashedPart(redisCounterKey(PREFIX, `auth-address:${a}`)), tag);
      assert.ok(tag.length > 0 && !tag.includes('{') && !tag.includes('}'));
      assert.equal(keyA.slice(0, keyA.indexOf('{')), 'gatehouse:rl:global:');
      if (a !== b) {
        assert.notEqual(keyA, redisCounterKey(PREFIX, `global:${b}`));
        assert.notEqual(tag, hashedPart(redisCounterKey(PREFIX, `global:${b}`)));
      }
    }), { numRuns: 2_000 });
  });
});
