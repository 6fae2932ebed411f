import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UUID_PATTERN, uuidv7 } from './ids.ts';

const randomPart = (id: string): string => id.replaceAll('-', '').slice(12);

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID whose first 48 bits are the milliseconds given', () => {
    const now = Date.UTC(2026, 11, 6, 9, 30);
    const id = uuidv7(now);
    assert.match(id, UUID_PATTERN);
    assert.equal(id[14], '7');
    assert.match(id[19] ?? '', /[89ab]/);
    assert.equal(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16), now);
  });

  it('sorts by creation time', () => {
    const ids = [3, 1, 2].map((offset) => uuidv7(1_700_000_000_000 + offset));
    assert.deepEqual([...ids].sort(), [ids[1], ids[2], ids[0]]);
  });

  // The random bits come from a pool of 409 ids' worth: across several refills, in the
  // same millisecond, no two ids share their 74 random bits.
  it('never repeats, within a millisecond and across refills of its random pool', () => {
    const now = Date.now();
    const ids = Array.from({ length: 409 * 5 + 7 }, () => uuidv7(now));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(new Set(ids.map(randomPart)).size, ids.length);
    for (const id of ids) assert.match(id, UUID_PATTERN);
  });

  it('refuses a time that does not fit 48 bits, and still works after', () => {
    assert.throws(() => uuidv7(2 ** 48), RangeError);
    assert.throws(() => uuidv7(-1), RangeError);
    assert.match(uuidv7(), UUID_PATTERN);
  });
});
