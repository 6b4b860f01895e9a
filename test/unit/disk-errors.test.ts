import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diskError } from '../../src/util/disk-errors.js';
import { testdir } from '../support/tmp.js';

// What a full disk's message tells the operator to run must work when they run it.

const enospc = () => Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
const dfOf = (error: unknown) => /`df ([^`]+)`/.exec((error as Error).message)?.[1];

test('disk errors: a full disk suggests df on the file named when it is still there', () => {
  const file = join(testdir(), 'archive.zip');
  writeFileSync(file, 'x');
  const error = diskError(enospc(), file) as Error;
  assert.match(error.message, new RegExp(`^cannot write ${file}: the disk holding it is full \\(ENOSPC\\)`));
  assert.equal(dfOf(error), file);
});

test('disk errors: a partial file removed before its error is described: df on the nearest directory that exists', () => {
  const dir = testdir();
  const error = diskError(enospc(), join(dir, 'cache', 'delta.zip.part-123')) as Error;
  assert.match(error.message, /cannot write \S+delta\.zip\.part-123: the disk holding it is full/, 'the message still names what failed');
  assert.equal(dfOf(error), dir);
});
