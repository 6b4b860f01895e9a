import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeLayout, readTree, runCli, startBackground, waitFor, writeHook, type Layout } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: SIGTERM ends an update at a safe point (DESIGN §8): before the swap nothing
// changes; after the swap the post-update hooks finish and the release is confirmed. Also the
// read-only commands: `--dry-run` and `releases`.

async function deployedV1(): Promise<{ layout: Layout; remote: string; first: string }> {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  assert.equal((await layout.fetch(remote)).code, 0);
  writeTree(remote, { 'v.txt': 'v2' });
  return { layout, remote, first: layout.currentId()! };
}

test('SIGTERM during a pre-update hook: it finishes, no further hook starts, nothing is swapped', async () => {
  const { layout, remote, first } = await deployedV1();
  const started = join(layout.root, 'pre-started');
  // The running hook is allowed to finish (killing it could leave half a migration); the
  // run then stops at the safe point before the swap.
  writeHook(layout, 'pre', '10-slow', `touch '${started}'; sleep 1; echo done > '${started}.done'`);
  writeHook(layout, 'pre', '20-next');
  const run = startBackground([...layout.args(remote), '-f'], { cwd: layout.root });
  await waitFor('the pre hook to start', () => existsSync(started));
  const at = Date.now();
  run.child.kill('SIGTERM');
  const end = await run.exited;
  assert.ok(Date.now() - at < 5_000, `stopped in ${Date.now() - at} ms`);
  assert.equal(end.code, 0, run.stderr().slice(-2000));
  assert.match(run.stdout(), /stopped/);
  assert.equal(existsSync(`${started}.done`), true, 'the running hook finished');
  assert.deepEqual(hookRuns(layout).map((h) => h.name), ['10-slow'], 'no further hook started');
  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.deepEqual(layout.releases(), [first], 'the unpublished release is removed');
  assert.deepEqual(layout.leftovers(), []);
  // Nothing is left to settle: the next run deploys normally.
  const next = await layout.fetch(remote);
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });
});

test('SIGTERM during a post-update hook: the hooks finish and the release is confirmed', async () => {
  const { layout, remote } = await deployedV1();
  const started = join(layout.root, 'post-started');
  writeHook(layout, 'post', '10-slow', `touch '${started}'; sleep 1; echo done > "$REPO_DEPLOY_LINK.post-done"`);
  const run = startBackground([...layout.args(remote), '-f'], { cwd: layout.root });
  await waitFor('the post hook to start', () => existsSync(started));
  run.child.kill('SIGTERM');
  const end = await run.exited;
  assert.equal(end.code, 0, run.stderr().slice(-2000));
  assert.equal(existsSync(`${layout.link}.post-done`), true, 'the post hook ran to its end');
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });
  const s = await layout.status(remote);
  assert.equal(s.current?.status, 'good');
  assert.equal(s.interrupted, undefined);
  assert.equal(hookRuns(layout).length, 1);
});

test('--dry-run says it would deploy and changes nothing; releases lists them', async () => {
  const { layout, remote, first } = await deployedV1();
  writeHook(layout, 'pre', '10-pre');
  const dry = await layout.fetch(remote, ['--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would deploy/);
  assert.equal(layout.currentId(), first);
  assert.deepEqual(layout.releases(), [first]);
  assert.deepEqual(hookRuns(layout), []);

  assert.equal((await layout.fetch(remote)).code, 0);
  const list = await runCli(['releases', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^\\* ${layout.currentId()}`, 'm'), 'current marked *');
  assert.match(list.stdout, new RegExp(`^- ${first}`, 'm'), 'previous marked -');
});
