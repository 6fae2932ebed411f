import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lazyModule } from './lazy-module.ts';

describe('lazyModule', () => {
  it('loads once however many callers ask at once, and only when first asked', async () => {
    let loads = 0;
    const load = lazyModule(() => {
      loads += 1;
      return Promise.resolve({ value: 42 });
    });
    assert.equal(loads, 0);
    const [a, b] = await Promise.all([load(), load()]);
    assert.equal(a, b);
    assert.equal((await load()).value, 42);
    assert.equal(loads, 1);
  });

  it('a failed load is tried again', async () => {
    let loads = 0;
    const load = lazyModule(() => {
      loads += 1;
      return loads === 1 ? Promise.reject(new Error('ENOENT')) : Promise.resolve('ok');
    });
    await assert.rejects(load(), /ENOENT/);
    assert.equal(await load(), 'ok');
    assert.equal(loads, 2);
  });
});
