// The containment commands' scope: exactly one of --all, --role R, --user ID. An operator
// under pressure who names two, or none, or a malformed one, is told so; nothing is guessed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { describeScope, parseScope, ScopeError, scopeDetails } from './scope.ts';

const OPTIONS = { all: { type: 'boolean' }, role: { type: 'string' }, user: { type: 'string' } } as const;

/** As `gatehouse incident sign-out` parses its arguments (src/main.ts). */
function scopeOfArgv(argv: string[]): ReturnType<typeof parseScope> {
  return parseScope(parseArgs({ args: argv, options: OPTIONS, strict: true }).values);
}

describe('containment scope', () => {
  it('--all, --role R and --user ID each name one scope', () => {
    const id = randomUUID();
    assert.deepEqual(scopeOfArgv(['--all']), { kind: 'all' });
    assert.deepEqual(scopeOfArgv(['--role', 'support']), { kind: 'role', role: 'support' });
    assert.deepEqual(scopeOfArgv(['--user', id]), { kind: 'user', userId: id });
    assert.deepEqual(scopeOfArgv([`--user=${id.toUpperCase()}`]), { kind: 'user', userId: id }, 'a UUID is case-insensitive');
  });

  it('none of them is refused: a bare command never means everyone', () => {
    assert.throws(() => scopeOfArgv([]), ScopeError);
    assert.throws(() => parseScope({ all: false }), ScopeError);
  });

  it('two or three of them are refused, whichever they are', () => {
    const id = randomUUID();
    for (const argv of [['--all', '--role', 'admin'], ['--all', '--user', id], ['--role', 'admin', '--user', id], ['--all', '--role', 'admin', '--user', id]]) {
      assert.throws(() => scopeOfArgv(argv), ScopeError, argv.join(' '));
    }
  });

  it('a malformed role or user id is refused before anything is looked up', () => {
    for (const role of ['', 'Admin', 'admin;drop', 'a'.repeat(64), '1role', 'role name']) {
      assert.throws(() => parseScope({ role }), ScopeError, JSON.stringify(role));
    }
    for (const user of ['', 'not-a-uuid', `${randomUUID()}x`, `'${randomUUID()}'`]) {
      assert.throws(() => parseScope({ user }), ScopeError, JSON.stringify(user));
    }
  });

  it('an option without its value, or an unknown option, is a parse error', () => {
    assert.throws(() => scopeOfArgv(['--role']), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
    assert.throws(() => scopeOfArgv(['--everyone']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });

  it('is described the same way in messages and audit details', () => {
    const id = randomUUID();
    assert.equal(describeScope({ kind: 'role', role: 'admin' }), 'role admin');
    assert.deepEqual(scopeDetails({ kind: 'user', userId: id }), { scope: 'user', user_id: id });
    assert.deepEqual(scopeDetails({ kind: 'all' }), { scope: 'all' });
  });
});
