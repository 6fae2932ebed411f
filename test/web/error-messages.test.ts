// Every error code the server can send (src/core/errors.ts, docs/errors.md) has a message
// of its own in the browser app, and the app reads a problem's parts as documented.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { describeProblem, ERROR_MESSAGES, fieldMessages } from '../../web/src/api/messages.ts';
import { problemOf, type Problem } from '../../web/src/api/problem.ts';

function problem(fields: Partial<Problem>): Problem {
  return { code: 'invalid_request', status: 400, title: '', requestId: null, fields: [], suggestions: [], retryAfter: null, ...fields };
}

describe('web app error messages', () => {
  it('has a message for every server error code, different from the fixed title', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      assert.ok(Object.hasOwn(ERROR_MESSAGES, code), `no message for ${code}`);
      const message = describeProblem(problem({ code, status: entry.status, title: entry.title }));
      assert.ok(message.length > 10, code);
    }
  });

  it('falls back to the server title for a code added later, and to a generic message without one', () => {
    assert.equal(describeProblem(problem({ code: 'new_code_2030', title: 'Something new.' })), 'Something new.');
    assert.equal(describeProblem(problem({ code: 'new_code_2030' })), ERROR_MESSAGES.unexpected_response);
  });

  it('says how long to wait when rate limited', () => {
    assert.equal(describeProblem(problem({ code: 'rate_limited', retryAfter: 30 })), 'Too many attempts. Try again in 30 seconds.');
    assert.equal(describeProblem(problem({ code: 'rate_limited', retryAfter: 900 })), 'Too many attempts. Try again in 15 minutes.');
    assert.equal(describeProblem(problem({ code: 'rate_limited', retryAfter: 86_400 })), 'Too many attempts. Try again in 24 hours.');
  });

  it('puts field problems and password reasons next to their fields', () => {
    const messages = fieldMessages(problem({
      code: 'weak_password',
      fields: [{ field: '/body/password', rule: 'too_short' }, { field: '/body/password', rule: 'common_password' }, { field: '/body/email', rule: 'format' }, { field: '/body', rule: 'json' }],
    }));
    assert.deepEqual(messages.get('password'), ['The password is too short.', 'This is a commonly used password.']);
    assert.deepEqual(messages.get('email'), ['This is not in the expected format.']);
    assert.equal(messages.size, 2);
  });

  it('puts a search form\'s query-string problems next to their fields too', () => {
    const messages = fieldMessages(problem({ code: 'invalid_request', fields: [{ field: '/querystring/action', rule: 'pattern' }, { field: '/params/id', rule: 'format' }] }));
    assert.deepEqual([...messages], [['action', ['This is not in the expected format.']]]);
  });

  it('reads a problem body and its Retry-After, and anything else as an unexpected answer', () => {
    const response = new Response(null, { status: 429, headers: { 'retry-after': '12' } });
    const read = problemOf({ code: 'rate_limited', title: 'Too many requests.', status: 429, request_id: 'r1', suggestions: ['a', 3] }, response);
    assert.deepEqual(read, { code: 'rate_limited', status: 429, title: 'Too many requests.', requestId: 'r1', fields: [], suggestions: ['a'], retryAfter: 12 });
    assert.equal(problemOf('<html>Bad gateway</html>', new Response(null, { status: 502 })).code, 'unexpected_response');
  });
});
