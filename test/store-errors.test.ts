// One classification of database errors for every command: what a retry with reconnect can fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyError, retryAttempts, retryMinMs } from '../src/store/errors.js';
import { EXIT, UserError } from '../src/util/errors.js';

const pg = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'ERROR' });

test('classifyError: lost connections, our timeouts, serialization, deadlock, lock timeout → transient', () => {
  const transient = [
    pg('57P01', 'terminating connection due to administrator command'), pg('57P02'), pg('57P03'), pg('08006'), pg('08003'),
    pg('40001'), pg('40P01'), pg('55P03'), pg('57014'),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
    new Error('Connection terminated unexpectedly'), new Error('Client has encountered a connection error and is not queryable'),
    new Error('Query read timeout'), new Error('timeout exceeded when trying to connect'),
    new Error('TransactionContext Error: Catalog write-write conflict on create with "x"'),
    new UserError('cannot connect to PostgreSQL at postgres://h/db: connection refused', EXIT.database),
  ];
  for (const e of transient) assert.equal(classifyError(e), 'transient', e.message);
});

test('classifyError: bad data and bugs → permanent; user mistakes → usage', () => {
  for (const e of [pg('23505', 'duplicate key'), pg('42703'), pg('22P02'), new Error('Binder Error: x'), new Error('something unexpected')]) {
    assert.equal(classifyError(e), 'permanent', e.message);
  }
  assert.equal(classifyError(new UserError('--ids: unknown asset id(s) 9')), 'usage');
});

test('retry settings: defaults, values, and a clear error for a bad one', () => {
  assert.equal(retryAttempts({}), 3);
  assert.equal(retryMinMs({}), 1000);
  assert.equal(retryAttempts({ TALAB_RETRY_ATTEMPTS: '1' }), 1);
  assert.throws(() => retryAttempts({ TALAB_RETRY_ATTEMPTS: '0' }), /TALAB_RETRY_ATTEMPTS must be a whole number between 1/);
  assert.throws(() => retryMinMs({ TALAB_RETRY_MIN_MS: 'soon' }), /TALAB_RETRY_MIN_MS .* got 'soon'/);
});
