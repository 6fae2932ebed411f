import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRY_POLICY, randomFraction, retryDelayMs } from './retry.ts';

describe('job retry schedule', () => {
  it('doubles from 30 s, caps at 6 h and gives up after the twelfth attempt', () => {
    const none = (): number => 0;
    const delays = Array.from({ length: 12 }, (_, index) => retryDelayMs(DEFAULT_RETRY_POLICY, index + 1, none));
    assert.deepEqual(delays.slice(0, 11).map((ms) => (ms ?? 0) / 1000), [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600]);
    assert.equal(delays[11], null);
    const total = delays.reduce<number>((sum, ms) => sum + (ms ?? 0), 0);
    assert.ok(total > 14 * 3_600_000 && total < 15 * 3_600_000, 'about 14.5 hours in all');
  });

  it('adds up to 20 % jitter, never less than the base delay', () => {
    assert.equal(retryDelayMs(DEFAULT_RETRY_POLICY, 1, () => 0.999_999), 36_000);
    for (let run = 0; run < 200; run++) {
      const delay = retryDelayMs(DEFAULT_RETRY_POLICY, 3)!;
      assert.ok(delay >= 120_000 && delay <= 144_000, String(delay));
    }
  });

  it('takes its randomness from the CSPRNG, in [0, 1)', () => {
    for (let run = 0; run < 200; run++) {
      const value = randomFraction();
      assert.ok(value >= 0 && value < 1);
    }
  });

  it('stays bounded for absurd attempt counts', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 10_000 };
    assert.equal(retryDelayMs(policy, 5_000, () => 0), policy.maxDelayMs);
  });
});
