import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildCompactDictionary, compactDictionaryBytes, rankOf } from './compact-dictionary.ts';

// zxcvbn-ts's own buildRankedDictionary (utils/helper), as the reference.
function reference(list: readonly (string | number)[]): Record<string, number> {
  const ranked: Record<string, number> = {};
  list.forEach((word, position) => {
    ranked[String(word)] = position + 1;
  });
  return ranked;
}

describe('compact ranked dictionary', () => {
  it('ranks every word by its 1-based position, the last occurrence winning, as zxcvbn-ts does', () => {
    const list = ['password', 'dragon', 'Dragon', 'monkey', 'dragon', 123456, 'ñandú', '🦩bird', ''];
    const data = buildCompactDictionary(list);
    const expected = reference(list);
    for (const word of Object.keys(expected)) assert.equal(rankOf(data, word), expected[word], word);
    assert.equal(rankOf(data, 'dragon'), 5);
    assert.equal(rankOf(data, '123456'), 6);
    assert.equal(rankOf(data, 'monkeys'), undefined);
    assert.equal(rankOf(data, 'drago'), undefined);
    // In UTF-16 code units, as zxcvbn-ts measures: 'password' is the longest.
    assert.equal(data.maxLength, 8);
    // Duplicates are stored once.
    assert.equal(data.ranks.length, 8);
  });

  it('finds no inherited property: "constructor" or "__proto__" is a word only if listed', () => {
    const data = buildCompactDictionary(['alpha', 'beta']);
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) assert.equal(rankOf(data, key), undefined, key);
    assert.equal(rankOf(buildCompactDictionary(['constructor']), 'constructor'), 1);
  });

  it('answers as the plain object for any list and any probe (property)', () => {
    const word = fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', 'c', 'é', '1', '🦩') });
    fc.assert(
      fc.property(fc.array(word, { maxLength: 200 }), fc.array(word, { maxLength: 50 }), (list, probes) => {
        const data = buildCompactDictionary(list);
        const expected = reference(list);
        for (const probe of [...list, ...probes]) {
          assert.equal(rankOf(data, probe), Object.hasOwn(expected, probe) ? expected[probe] : undefined, probe);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the table at most half full and carries no unused tail', () => {
    const list = Array.from({ length: 5_000 }, (_, index) => `word${index % 4_000}`);
    const data = buildCompactDictionary(list);
    assert.equal(data.ranks.length, 4_000);
    assert.equal(data.starts.length, 4_001);
    assert.ok(data.slots.length >= 8_000 && (data.slots.length & (data.slots.length - 1)) === 0);
    assert.equal(data.units.length, data.starts[4_000]);
    assert.equal(compactDictionaryBytes(data), data.units.byteLength + 4 * (4_001 + 4_000 + data.slots.length));
  });

  it('answers "not listed" for a damaged, full table instead of looping forever', () => {
    const data = buildCompactDictionary(['alpha', 'beta']);
    const full = { ...data, slots: new Uint32Array(data.slots.length).fill(1) };
    assert.equal(rankOf(full, 'gamma'), undefined);
    assert.equal(rankOf(full, 'alpha'), 1);
  });
});
