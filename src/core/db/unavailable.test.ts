// What counts as "the database cannot be reached" (a retryable 503) and what stays a bug
// (a 500): connection-level failures only, never a query the database refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { databaseUnavailableReason, isDatabaseUnavailable } from './unavailable.ts';

function databaseError(code: string, message: string): Error {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
}

describe('isDatabaseUnavailable', () => {
  it('names restarts, failovers and refused connections by a code, never by their message', () => {
    const cases: [unknown, string][] = [
      [databaseError('57P01', 'terminating connection due to administrator command'), '57P01'],
      [databaseError('57P02', 'terminating connection because of crash of another server process'), '57P02'],
      [databaseError('57P03', 'the database system is starting up'), '57P03'],
      [databaseError('53300', 'sorry, too many clients already'), '53300'],
      [databaseError('08006', 'connection failure'), '08006'],
      [databaseError('08P01', 'protocol violation'), '08P01'],
      [socketError('ECONNREFUSED'), 'ECONNREFUSED'],
      [socketError('ECONNRESET'), 'ECONNRESET'],
      [socketError('ETIMEDOUT'), 'ETIMEDOUT'],
      [socketError('EPIPE'), 'EPIPE'],
      [socketError('EAI_AGAIN'), 'EAI_AGAIN'],
      [new Error('Connection terminated unexpectedly'), 'connection_terminated'],
      [new Error('timeout exceeded when trying to connect'), 'connect_timeout'],
      [new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') }), 'connect_timeout'],
      [new Error('Client has encountered a connection error and is not queryable'), 'connection_lost'],
      [new Error('PGlite is closed'), 'pglite_closed'],
      // localhost resolving to ::1 and 127.0.0.1: each attempt refused.
      [new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''), 'ECONNREFUSED'],
      [new Error('wrapped', { cause: databaseError('57P01', 'terminating connection') }), '57P01'],
    ];
    for (const [error, reason] of cases) {
      assert.equal(databaseUnavailableReason(error), reason, String(error));
      assert.equal(isDatabaseUnavailable(error), true);
    }
  });

  it('leaves a query the database refused, a bug or a lookalike message to the 500 path', () => {
    const cases: unknown[] = [
      databaseError('42601', 'syntax error at or near "SELEC"'),
      databaseError('23505', 'duplicate key value violates unique constraint'),
      databaseError('40001', 'could not serialize access'),
      databaseError('42501', 'permission denied for table users'),
      new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      new Error('Client was closed and is not queryable'),
      new TypeError('Cannot read properties of undefined'),
      Object.assign(new Error('odd'), { code: 57 }),
      'ECONNREFUSED',
      null,
      undefined,
      { code: 'ENOENT' },
    ];
    for (const error of cases) assert.equal(isDatabaseUnavailable(error), false, String(error));
  });

  it('follows a chain of causes only a few steps, so a cyclic cause cannot hang the error handler', () => {
    const cyclic = new Error('outer');
    Object.defineProperty(cyclic, 'cause', { value: cyclic });
    assert.equal(isDatabaseUnavailable(cyclic), false);
    let deep: Error = socketError('ECONNREFUSED');
    for (let level = 0; level < 10; level += 1) deep = new Error(`level ${level}`, { cause: deep });
    assert.equal(isDatabaseUnavailable(deep), false);
  });
});
