import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, readTree, withSource, writeHook } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: the built CLI deploying a local directory remote, asserting the link, the
// releases on disk, `status --json` and what hooks left behind.

test('first deploy: exit 0, current is a relative link to releases/<id>, content right', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1', 'lib/app.js': 'one' });
  writeHook(layout, 'pre', '10-pre');
  writeHook(layout, 'post', '10-post');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(layout.link).isSymbolicLink());
  const target = readlinkSync(layout.link);
  assert.match(target, /^releases\/[^/]+$/, 'current must be a relative link into releases/');
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1', 'lib/app.js': 'one' });
  assert.deepEqual(layout.releases(), [layout.currentId()]);
  assert.match(r.stdout, /deployed/);
  assert.deepEqual(hookRuns(layout).map((h) => `${h.name} ${h.phase}`), ['10-pre pre-update', '10-post post-update']);

  const s = await layout.status(remote);
  assert.equal(s.linkState, 'release');
  assert.equal(s.current?.id, layout.currentId());
  assert.equal(s.current?.status, 'good');
  assert.equal(s.previous, undefined);
  assert.equal(s.lastCheck?.result, 'deployed');
  assert.equal(s.lastCheck?.version, s.current?.version);
  assert.ok(s.lastSuccessAt);
  assert.equal(s.failing, undefined);
});

test('no-op: a second -f exits 0, makes no release and runs no hooks', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  writeHook(layout, 'pre', '10-pre');
  writeHook(layout, 'post', '10-post');
  assert.equal((await layout.fetch(remote)).code, 0);
  const before = { id: layout.currentId(), releases: layout.releases(), hooks: hookRuns(layout).length };
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /up to date/);
  assert.equal(layout.currentId(), before.id);
  assert.deepEqual(layout.releases(), before.releases);
  assert.equal(hookRuns(layout).length, before.hooks, 'no hook may run when nothing changed');
  const s = await layout.status(remote);
  assert.equal(s.lastCheck?.result, 'up-to-date');
  assert.equal(s.current?.id, before.id);
});

test('update: a new version makes a new release, swaps current, keeps the previous one', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1', 'old.txt': 'gone in v2' });
  writeHook(layout, 'post', '10-post', 'cat index.html > "$REPO_DEPLOY_LINK.post-saw"');
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  writeTree(remote, { 'index.html': 'v2' });
  writeFileSync(join(remote, 'old.txt'), 'changed');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  const second = layout.currentId()!;
  assert.notEqual(second, first);
  assert.deepEqual(layout.releases(), [first, second].sort());
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v2', 'old.txt': 'changed' });
  assert.deepEqual(readTree(join(layout.releasesDir, first)), { 'index.html': 'v1', 'old.txt': 'gone in v2' }, 'a published release is never modified');
  assert.equal(readTree(layout.deployDir)['current.post-saw'], 'v2', 'post hooks run in the new release');

  const s = await layout.status(remote);
  assert.equal(s.current?.id, second);
  assert.equal(s.previous?.id, first);
  assert.notEqual(s.current?.version, s.previous?.version);
  assert.equal(s.lastCheck?.result, 'deployed');
  assert.equal(s.releases.length, 2);
});

test('retention: keep = 2 over five deploys leaves current and previous only', async () => {
  const { layout, remote } = withSource({ 'n.txt': '0' });
  writeFileSync(layout.config, 'keep = 2\n');
  const seen: string[] = [];
  for (let n = 1; n <= 5; n++) {
    writeTree(remote, { 'n.txt': String(n) });
    const r = await layout.fetch(remote);
    assert.equal(r.code, 0, r.stderr);
    seen.push(layout.currentId()!);
    assert.ok(layout.releases().length <= 2, `after deploy ${n}: ${layout.releases().join(', ')}`);
  }
  assert.equal(new Set(seen).size, 5, 'every deploy made its own release');
  const s = await layout.status(remote);
  assert.deepEqual(layout.releases(), [s.previous!.id, s.current!.id].sort());
  assert.equal(s.current!.id, seen[4]);
  assert.equal(s.previous!.id, seen[3]);
  assert.deepEqual(readTree(join(layout.releasesDir, s.previous!.id)), { 'n.txt': '4' });
  assert.deepEqual(readTree(layout.link), { 'n.txt': '5' });
});

test('retention keeps the newest releases even when several are made within one second', async () => {
  const { layout, remote } = withSource({ 'n.txt': '0' });
  writeFileSync(layout.config, 'keep = 4\n');
  // Seven quick deploys: release ids share their one-second stamp, so only the recorded
  // creation time tells which are the newest.
  for (let n = 1; n <= 7; n++) {
    writeTree(remote, { 'n.txt': String(n) });
    assert.equal((await layout.fetch(remote)).code, 0);
  }
  const kept = layout.releases().map((id) => Number(readTree(join(layout.releasesDir, id))['n.txt'])).sort();
  assert.deepEqual(kept, [4, 5, 6, 7]);
});

test('a real directory at LOCAL is kept as a release, reachable as previous', async () => {
  const { layout, remote } = withSource({ 'index.html': 'new' });
  mkdirSync(layout.link);
  writeTree(layout.link, { 'index.html': 'hand-made', 'data/keep.db': 'precious' });
  writeHook(layout, 'post', '10-post', 'echo "$PREVIOUS_CONFIG" > "$REPO_DEPLOY_LINK.previous"');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(layout.link).isSymbolicLink(), 'current is a link now');
  assert.deepEqual(readTree(layout.link), { 'index.html': 'new' });
  const s = await layout.status(remote);
  assert.ok(s.previous, 'the directory became the previous release');
  assert.equal(s.previous.version, 'adopted');
  assert.deepEqual(readTree(join(layout.releasesDir, s.previous.id)), { 'index.html': 'hand-made', 'data/keep.db': 'precious' });
  assert.equal(readTree(layout.deployDir)['current.previous']!.trim(), join(layout.releasesDir, s.previous.id));

  // Never deleted: not even after more updates than `keep` allows.
  writeFileSync(layout.config, 'keep = 1\n');
  for (const n of [1, 2, 3]) {
    writeTree(remote, { 'index.html': `newer ${n}` });
    assert.equal((await layout.fetch(remote)).code, 0);
  }
  assert.ok(layout.releases().includes(s.previous.id));
  assert.equal(layout.releases().length, 3, 'adopted + previous + current');
  assert.equal(readTree(join(layout.releasesDir, s.previous.id))['data/keep.db'], 'precious');
});
