import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LockBusyError } from '../../src/errors.js';
import { acquireLock, acquireLockWaiting } from '../../src/pipeline/lock.js';
import { testdir } from '../support/tmp.js';

test('a held lock refuses a second taker at once; a waiting taker gets it once it is freed', async () => {
  const dir = testdir();
  const held = await acquireLock(dir, 'web');
  await assert.rejects(acquireLock(dir, 'web'), (e: unknown) => e instanceof LockBusyError && /app web is busy/.test(e.message) && e.exitCode === 75);
  // Operator commands wait out a routine check instead of failing with 75.
  setTimeout(() => void held.release(), 300);
  const started = Date.now();
  const waited = await acquireLockWaiting(dir, 'web', 5_000);
  assert.ok(Date.now() - started >= 250, 'it waited for the holder');
  // ... but not for ever.
  const begun = Date.now();
  await assert.rejects(acquireLockWaiting(dir, 'web', 400), LockBusyError);
  assert.ok(Date.now() - begun < 2_000);
  await waited.release();
  // Another deploy directory is another lock.
  const other = await acquireLock(testdir(), 'web');
  await other.release();
});
