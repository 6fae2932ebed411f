// A sealed job payload opens only for the job it was sealed for: not for another row, not
// relabelled as another kind, not under another key, not after a bit flip.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCryptoError } from '../crypto/aead.ts';
import { openJobPayload, sealJobPayload } from './sealed-payload.ts';

const refused = (error: unknown): boolean => isCryptoError(error);

describe('sealed job payload attacks', () => {
  const key = randomBytes(32);
  const job = { id: randomUUID(), kind: 'mail' };
  const sealed = sealJobPayload(key, job, '{"to":"ada@example.test","text":"token=secret"}');

  it('round-trips for its own job, and the stored text holds nothing of the plaintext', () => {
    assert.equal(openJobPayload(key, job, sealed), '{"to":"ada@example.test","text":"token=secret"}');
    assert.equal(/ada|secret|example/.test(sealed), false);
  });

  it('a payload moved to another job row does not open', () => {
    assert.throws(() => openJobPayload(key, { ...job, id: randomUUID() }, sealed), refused);
  });

  it('a payload relabelled as another kind does not open', () => {
    assert.throws(() => openJobPayload(key, { ...job, kind: 'webhook' }, sealed), refused);
  });

  it('a payload does not open under another key, or with a flipped bit', () => {
    assert.throws(() => openJobPayload(randomBytes(32), job, sealed), refused);
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    assert.throws(() => openJobPayload(key, job, `${sealed.slice(0, -2)}${last}${sealed.slice(-1)}`), refused);
  });

  it('two seals of one payload differ (random IV)', () => {
    assert.notEqual(sealJobPayload(key, job, 'same'), sealJobPayload(key, job, 'same'));
  });
});
