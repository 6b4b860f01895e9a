import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeLayout, readTree, runCli, withSource, writeHook } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';
import { writeZip } from '../support/zip.js';

// `current` always resolves to a complete release the state knows: hand-deleted releases are
// repaired, a hook cannot get a gutted release swapped in, empty archives are refused, and a
// lost state file is rebuilt from the releases' own records.

test('a release deleted by hand is redeployed at the next check (repair), and status agrees', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  rmSync(join(layout.releasesDir, first), { recursive: true });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /up to date/);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1' });
  assert.ok(r.logs.some((l) => /repair/.test(l.msg)), r.stderr);
  const s = await layout.status(remote);
  assert.equal(s.current?.status, 'good');
  assert.deepEqual(s.releases.map((x) => x.id), layout.releases(), 'status lists exactly the releases on disk');
  assert.equal(s.releases.length, 1, 'the deleted release is not listed; only its replacement');
  assert.match((await layout.fetch(remote)).stdout, /up to date/);
});

test('a zip release deleted by hand: repaired, and its record and file list beside it are swept', async () => {
  const layout = makeLayout();
  const zip = join(layout.root, 'app.zip');
  await writeZip(zip, [{ name: 'index.html', content: 'v1' }]);
  assert.equal((await layout.fetch(zip)).code, 0);
  const first = layout.currentId()!;
  const beside = [`.${first}.json`, `.${first}.files`];
  for (const name of beside) assert.ok(existsSync(join(layout.releasesDir, name)), `${name} is written with the release`);
  rmSync(join(layout.releasesDir, first), { recursive: true });
  // Release ids name the second: the repair's must not be the lost one's.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const r = await layout.fetch(zip);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1' });
  assert.notEqual(layout.currentId(), first);
  // Every record and file list left belongs to a release on disk (the repair's id may be the same as the lost one's).
  const left = readdirSync(layout.releasesDir);
  const besideOf = left.map((n) => /^\.(.+)\.(?:json|files)$/.exec(n)?.[1]).filter((id) => id !== undefined);
  assert.ok(besideOf.length >= 2, `the repaired release has its record and file list: ${left.join(', ')}`);
  for (const id of besideOf) assert.ok(left.includes(id!), `.${id}.json/.files is swept with its release: ${left.join(', ')}`);
});

test('a release emptied by hand is incomplete: repaired, never called up to date', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1', 'app/main.js': 'x' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  rmSync(join(layout.releasesDir, first, 'app'), { recursive: true });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1', 'app/main.js': 'x' });
});

test('a pre-update hook that deletes the staged release blocks the update; current unchanged', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId();
  writeHook(layout, 'pre', '10-vandal', 'rm -rf "$CURRENT_CONFIG"/*');
  writeTree(remote, { 'index.html': 'v2' });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /incomplete|missing/);
  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1' });
});

for (const [name, entries] of [
  ['an empty zip', []],
  ['a zip holding only directories', [{ name: 'a/', directory: true as const }, { name: 'a/b/', directory: true as const }]],
] as const) {
  test(`${name} is refused: exit 1, message says empty, current unchanged`, async () => {
    const layout = makeLayout();
    const zip = join(layout.root, 'app.zip');
    await writeZip(zip, [{ name: 'index.html', content: 'v1' }]);
    assert.equal((await layout.fetch(zip)).code, 0);
    const first = layout.currentId();
    await writeZip(zip, [...entries]);
    const r = await layout.fetch(zip);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /empty/);
    assert.equal(layout.currentId(), first);
    assert.deepEqual(readTree(layout.link), { 'index.html': 'v1' });
    assert.deepEqual(layout.releases(), [first]);
  });
}

test('an empty zip on a first deploy leaves nothing behind', async () => {
  const layout = makeLayout();
  const zip = join(layout.root, 'app.zip');
  await writeZip(zip, []);
  const r = await layout.fetch(zip);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /empty/);
  assert.equal(existsSync(layout.link), false);
  assert.deepEqual(layout.releases(), []);
});

test('a lost state.json is rebuilt from the releases: no redeploy, versions shown, pruning works', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  writeHook(layout, 'post', '10-post');
  for (const v of ['v1', 'v2', 'v3']) {
    writeTree(remote, { 'index.html': v });
    assert.equal((await layout.fetch(remote)).code, 0);
  }
  const current = layout.currentId();
  rmSync(join(layout.deployDir, '.repo-deploy', 'state.json'));
  const hooksBefore = hookRuns(layout).length;
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /up to date/);
  assert.equal(layout.currentId(), current);
  assert.equal(hookRuns(layout).length, hooksBefore, 'the current version is not deployed again');
  const s = await layout.status(remote);
  assert.ok(s.releases.length === 3 && s.releases.every((x) => x.version !== 'unknown' && x.status === 'good'), JSON.stringify(s.releases));
  assert.equal(s.current?.id, current);

  // Pruning works again: keep = 2 leaves the current and one more.
  writeFileSync(layout.config, 'keep = 2\n');
  writeTree(remote, { 'index.html': 'v4' });
  assert.equal((await layout.fetch(remote)).code, 0);
  assert.equal(layout.releases().length, 2, readdirSync(layout.releasesDir).join(' '));
});

test('after resume, a version still on disk as a good release is activated again, not fetched', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  writeHook(layout, 'post', '10-post');
  assert.equal((await layout.fetch(remote)).code, 0);
  writeTree(remote, { 'index.html': 'v2' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const v2 = layout.currentId();
  const args = layout.args(remote);
  assert.equal((await runCli(['rollback', ...args], { cwd: layout.root })).code, 0);
  assert.notEqual(layout.currentId(), v2);
  assert.equal((await runCli(['resume', ...args], { cwd: layout.root })).code, 0);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(layout.currentId(), v2, 'the v2 release on disk is current again');
  assert.equal(layout.releases().length, 2, 'no second release of v2');
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v2' });
  assert.equal(hookRuns(layout).at(-1)?.release, v2, 'post-update hooks ran for it');
});

test('a lost state.json keeps the previous release for rollback, and a rollback keeps its hold', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  const ids: string[] = [];
  for (const v of ['v1', 'v2', 'v3']) {
    writeTree(remote, { 'index.html': v });
    assert.equal((await layout.fetch(remote)).code, 0);
    ids.push(layout.currentId()!);
  }
  const state = join(layout.deployDir, '.repo-deploy', 'state.json');
  rmSync(state);
  const args = layout.args(remote);
  const back = await runCli(['rollback', ...args], { cwd: layout.root });
  assert.equal(back.code, 0, back.stderr);
  assert.equal(layout.currentId(), ids[1], 'rolled back to the newest release before current');

  rmSync(state);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(layout.currentId(), ids[1], 'still held at the release rolled back to');
  assert.match(r.stdout, /held/);
  assert.equal((await runCli(['resume', ...args], { cwd: layout.root })).code, 0);
  rmSync(state);
  assert.equal((await layout.fetch(remote)).code, 0);
  assert.equal(layout.currentId(), ids[2], 'after resume the hold is gone, also from the records');
});
