import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, hookRuns, makeLayout, readTree, startBackground, waitFor, writeHook } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: one run at a time per app. A second -f is refused with exit 75 at once; after
// `kill -9` of the holder the next run takes the lock and cleans up what was left.

test('lock: a second -f exits 75 at once; after kill -9 of the first a new -f cleans up and deploys', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  writeTree(remote, { 'v.txt': 'v2' });

  // While `slow` exists the pre hook records its pid and sleeps (as itself, via exec).
  const slow = join(layout.root, 'slow');
  const marker = join(layout.root, 'hook.pid');
  writeFileSync(slow, '');
  writeHook(layout, 'pre', '10-slow', `if [ -e '${slow}' ]; then echo $$ > '${marker}.tmp'; mv '${marker}.tmp' '${marker}'; exec sleep 30; fi`);

  const holder = startBackground([...layout.args(remote), '-f'], { cwd: layout.root });
  await waitFor('the slow pre hook to start', () => existsSync(marker), 15_000);
  const hookPid = Number(readFileSync(marker, 'utf8'));

  const busy = await layout.fetch(remote);
  assert.equal(busy.code, 75, busy.stderr);
  assert.match(busy.stderr, /busy|lock/);
  assert.ok(busy.durationMs < 5_000, `a busy run must not wait (took ${busy.durationMs} ms)`);
  assert.equal(hookRuns(layout).length, 1, 'the refused run ran no hooks');

  holder.child.kill('SIGKILL');
  const end = await holder.exited;
  assert.equal(end.signal, 'SIGKILL');
  assert.equal(layout.currentId(), first, 'killed before the swap: current unchanged');

  // Leftovers a run killed at other moments would leave, next to the ones this one left.
  mkdirSync(join(layout.releasesDir, '.staging-99999-deadbeef'));
  writeFileSync(join(layout.releasesDir, '.staging-99999-deadbeef', 'half.txt'), 'half');
  symlinkSync(`releases/${first}`, join(layout.deployDir, '.current.tmp-99999-deadbeef'));

  try {
    // The orphaned hook is still alive: the lock must not depend on its whole process tree.
    assert.ok(alive(hookPid), 'the orphaned hook still runs');
    rmSync(slow);
    const next = await layout.fetch(remote);
    assert.equal(next.code, 0, next.stderr);
    assert.ok(next.logs.some((l) => /interrupted/.test(l.msg)), 'the run says it settled an interrupted update');
  } finally {
    if (alive(hookPid)) process.kill(hookPid, 'SIGKILL');
  }
  assert.deepEqual(layout.leftovers(), []);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });
  assert.deepEqual(layout.releases(), [first, layout.currentId()!].sort(), 'the interrupted release was discarded');
  const s = await layout.status(remote);
  assert.equal(s.interrupted, undefined);
  assert.equal(s.previous?.id, first);
});
