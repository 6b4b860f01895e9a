import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeLayout, readTree, writeHook } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: a failing version is retried at the next run, then backs off (exit 1 naming the
// next try, no hooks run); a new version is tried at once.

test('back-off: retried once, then -f exits 1 with the next try; a new version resets it', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  // Blocks any release that ships a file named `broken`.
  writeHook(layout, 'pre', '10-gate', 'test ! -e broken');
  assert.equal((await layout.fetch(remote)).code, 0);
  const good = layout.currentId();

  writeTree(remote, { 'v.txt': 'v2', broken: '' });
  const first = await layout.fetch(remote);
  assert.equal(first.code, 1, first.stderr);
  const afterFirst = await layout.status(remote);
  assert.equal(afterFirst.failing?.failures, 1);
  assert.ok(Date.parse(afterFirst.failing.nextTryAt) <= Date.now(), 'the first failure is retried at the next run');

  const second = await layout.fetch(remote);
  assert.equal(second.code, 1, second.stderr);
  assert.equal(hookRuns(layout).length, 3, 'the second run tried again');
  const afterSecond = await layout.status(remote);
  assert.equal(afterSecond.failing?.failures, 2);
  assert.ok(Date.parse(afterSecond.failing.nextTryAt) > Date.now() + 30_000, `next try ${afterSecond.failing.nextTryAt} is in the future`);

  const third = await layout.fetch(remote);
  assert.equal(third.code, 1, third.stderr);
  assert.match(third.stderr, /next try at/);
  assert.match(third.stderr, new RegExp(afterSecond.failing.nextTryAt.replace(/[.]/g, '\\.')));
  assert.equal(hookRuns(layout).length, 3, 'backing off runs no hooks');
  const afterThird = await layout.status(remote);
  assert.equal(afterThird.lastCheck?.result, 'backing-off');
  assert.equal(afterThird.failing?.failures, 2, 'waiting is not another failure');
  assert.equal(layout.currentId(), good);

  // A new version (still broken) is tried at once, counting from one again.
  writeTree(remote, { 'v.txt': 'v3' });
  const fourth = await layout.fetch(remote);
  assert.equal(fourth.code, 1, fourth.stderr);
  assert.equal(hookRuns(layout).length, 4);
  const afterFourth = await layout.status(remote);
  assert.equal(afterFourth.failing?.failures, 1);
  assert.notEqual(afterFourth.failing.version, afterSecond.failing.version);

  // Fixed: deployed, and the failure record is gone.
  rmSync(join(remote, 'broken'));
  const fifth = await layout.fetch(remote);
  assert.equal(fifth.code, 0, fifth.stderr);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v3' });
  const done = await layout.status(remote);
  assert.equal(done.failing, undefined);
  assert.equal(done.lastCheck?.result, 'deployed');
});
