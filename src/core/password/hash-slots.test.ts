import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { defaultHashSlots, limitConcurrency } from './hash-slots.ts';

function gate(): { open: () => void; wait: Promise<void> } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => { open = resolve; });
  return { open, wait };
}

describe('hash slots', () => {
  it('a burst runs at most `slots` computations at once, the rest in arrival order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 6 }, gate);
    const limited = limitConcurrency(async (index: number) => {
      started.push(index);
      running += 1;
      peak = Math.max(peak, running);
      await gates[index]?.wait;
      running -= 1;
      return index;
    }, 2);
    const all = Promise.all(gates.map((_, index) => limited(index)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, [0, 1]);
    for (const g of gates) g.open();
    assert.deepEqual(await all, [0, 1, 2, 3, 4, 5]);
    assert.equal(peak, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  });

  it('a computation that fails gives its slot back', async () => {
    const limited = limitConcurrency(async (fail: boolean) => {
      if (fail) throw new Error('boom');
      return 'ok';
    }, 1);
    await assert.rejects(limited(true), /boom/);
    assert.equal(await limited(false), 'ok');
  });

  it('refuses a slot count below one', () => {
    assert.throws(() => limitConcurrency(async () => 0, 0), RangeError);
  });

  it('one slot per core, shared among the workers of one server, never fewer than one each', () => {
    assert.equal(defaultHashSlots(), availableParallelism());
    assert.equal(defaultHashSlots(1, 2), 2);
    assert.equal(defaultHashSlots(2, 2), 1);
    assert.equal(defaultHashSlots(2, 8), 4);
    assert.equal(defaultHashSlots(3, 8), 3);
    assert.equal(defaultHashSlots(4, 2), 1);
    assert.throws(() => defaultHashSlots(0, 2), RangeError);
  });
});
