import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeLayout, runCli, startBackground, writeHook, type AppStatusJson } from '../support/cli.js';
import { testdir } from '../support/tmp.js';

// End to end through the built CLI: while an update runs, `status` shows the version being
// deployed, its step and the hook running; afterwards, no more.

type LiveStatus = AppStatusJson & { updating?: { pid: number; version: string; releaseId?: string; step: string; hook?: string; startedAt: string } };

test('status during a slow pre-update hook shows the version, the step and the hook', async () => {
  const layout = makeLayout();
  const remote = testdir({ 'v.txt': 'v1' });
  const go = join(layout.root, 'go');
  // Waits (bounded) for the test to say go, instead of sleeping a guessed time.
  writeHook(layout, 'pre', '10-fast');
  writeHook(layout, 'pre', '20-slow', `i=0; while [ ! -f '${go}' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done`);
  const run = startBackground([...layout.args(remote), '-f'], { cwd: layout.root });
  let live: LiveStatus | undefined;
  const deadline = Date.now() + 60_000;
  // 10-fast may be caught running first: wait for the hook that waits for us.
  while (live?.updating?.hook !== '20-slow' && Date.now() < deadline) {
    const r = await runCli(['status', '--json', ...layout.args(remote)], { cwd: layout.root });
    live = (JSON.parse(r.stdout) as LiveStatus[])[0];
    if (live?.updating?.hook !== '20-slow') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(live?.updating, `status never showed the update: ${JSON.stringify(live)}`);
  assert.equal(live.updating.hook, '20-slow');
  assert.equal(live.updating.step, 'pre-update');
  assert.equal(live.updating.pid, run.child.pid);
  assert.match(live.updating.version, /\S/);
  assert.ok(live.updating.releaseId, JSON.stringify(live.updating));
  assert.equal(live.interrupted, undefined);
  const text = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
  assert.match(text.stdout, new RegExp(`^updating +${live.updating.version} -> release ${live.updating.releaseId}: pre-update hook 20-slow \\(since `, 'm'));
  assert.match(text.stdout, /updating to /);

  writeFileSync(go, '');
  assert.deepEqual(await run.exited, { code: 0, signal: null });
  const after = (JSON.parse((await runCli(['status', '--json', ...layout.args(remote)], { cwd: layout.root })).stdout) as LiveStatus[])[0]!;
  assert.equal(after.updating, undefined);
  assert.equal(after.current?.id, live.updating.releaseId);
  assert.equal(after.current?.version, live.updating.version);
});
