// The switch commands take exactly `on` or `off`: nothing else turns maintenance or the
// registration freeze on or off by accident.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSwitchState } from './incident.ts';

describe('incident switch arguments', () => {
  it('on and off, and nothing else', () => {
    assert.equal(parseSwitchState('on'), true);
    assert.equal(parseSwitchState('off'), false);
    for (const word of [undefined, '', 'ON', 'Off', 'true', 'false', '1', '0', 'yes', 'enable', ' on']) {
      assert.equal(parseSwitchState(word), null, JSON.stringify(word));
    }
  });
});
