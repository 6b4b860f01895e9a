import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeLayout, readTree, startBackground, writeHook, type Layout, type LogLine } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';
import { writeZip, type ZipEntry } from '../support/zip.js';

// End-to-end (issue 5): the operating keys through the built CLI: release-hooks (hooks shipped
// in the release run after the host's), owner (the release is given away before the
// pre-update hooks), splay, and a CRLF hook script refused with a message that says how to fix it.

/** A zip remote shipping its own hooks; each appends `NAME PHASE RELEASE REVERT` to hooks.log. */
async function zipWithReleaseHooks(layout: Layout): Promise<string> {
  const log = join(layout.root, 'hooks.log');
  const hook = (name: string) => `#!/bin/sh\necho "${name} $REPO_DEPLOY_PHASE $REPO_DEPLOY_RELEASE $REPO_DEPLOY_REVERT" >> '${log}'\n`;
  const entries: ZipEntry[] = [
    { name: 'v.txt', content: 'v1' },
    { name: '.repo-deploy/pre-update.d/10-shipped', content: hook('shipped-pre'), mode: 0o100755 },
    { name: '.repo-deploy/post-update.d/10-x', content: hook('shipped-post'), mode: 0o100755 },
    // Same rules as host hooks: not executable, not run.
    { name: '.repo-deploy/post-update.d/20-not-executable', content: hook('not-executable'), mode: 0o100644 },
  ];
  const zip = join(layout.root, 'app.zip');
  await writeZip(zip, entries);
  return zip;
}

test('release-hooks = true: executables in the release run after the host hooks of the same phase', async () => {
  const layout = makeLayout();
  const zip = await zipWithReleaseHooks(layout);
  writeFileSync(layout.config, 'release-hooks = true\n');
  // Named to sort after the shipped hooks: order is host first, whatever the names.
  writeHook(layout, 'pre', '90-host');
  writeHook(layout, 'post', '90-host');
  const r = await layout.fetch(zip);
  assert.equal(r.code, 0, r.stderr);
  const id = layout.currentId()!;
  assert.deepEqual(hookRuns(layout).map((h) => `${h.name} ${h.phase} ${h.release}`), [
    `90-host pre-update ${id}`,
    `shipped-pre pre-update ${id}`,
    `90-host post-update ${id}`,
    `shipped-post post-update ${id}`,
  ]);
  assert.ok(r.logs.some((l) => l.hook === '10-x'), 'shipped hook logged under its name');
});

test('release-hooks unset (default false): hooks shipped in the release never run', async () => {
  const layout = makeLayout();
  const zip = await zipWithReleaseHooks(layout);
  writeHook(layout, 'post', '90-host');
  const r = await layout.fetch(zip);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(hookRuns(layout).map((h) => h.name), ['90-host']);
  assert.ok(readTree(layout.link)['.repo-deploy/post-update.d/10-x'], 'the file is deployed, just not run');
});

test('owner = nobody:nogroup: the release belongs to nobody before the pre-update hooks run', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  writeTree(remote, { 'v.txt': 'v1', 'sub/deep.txt': 'deep' });
  writeFileSync(layout.config, 'owner = nobody:nogroup\n');
  const seen = join(layout.root, 'owner-seen');
  writeHook(layout, 'pre', '10-owner', `stat -c %U:%G v.txt sub/deep.txt . > '${seen}'`);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(seen, 'utf8').trim().split('\n'), ['nobody:nogroup', 'nobody:nogroup', 'nobody:nogroup']);
  const nobodyUid = statSync(join(layout.link, 'v.txt')).uid;
  assert.equal(nobodyUid, 65534);
});

test('owner = nosuchuser: exit 2, a config error naming owner; nothing deployed', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, 'owner = nosuchuser\n');
  for (const args of [['-f'], []]) {
    const r = await layout.fetch(remote, args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /owner/);
    assert.match(r.stderr, /nosuchuser/);
    assert.match(r.stderr, /no such user or group/);
  }
  assert.equal(layout.currentId(), null);
  assert.deepEqual(layout.releases(), []);
});

test('splay = 0 is accepted; splay = soon is a config error naming splay and what is accepted', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, 'splay = 0\n');
  const ok = await layout.fetch(remote);
  assert.equal(ok.code, 0, ok.stderr);
  writeFileSync(layout.config, 'splay = soon\n');
  const bad = await layout.fetch(remote);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /splay/);
  assert.match(bad.stderr, /soon/);
  assert.match(bad.stderr, /90s, 10m, 1h/);
});

test('splay = 2s under the daemon: the start-up check is not delayed, scheduled ones still deploy within the splay', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, 'schedule = */1 * * * * *\nsplay = 2s\n');
  const daemon = startBackground(['-v', ...layout.args(remote)], { cwd: layout.root });
  const deployed = (n: number) => (_l: LogLine) => daemon.logs.filter((l) => l.msg === 'deployed').length >= n;
  const splayed = () => daemon.logs.filter((l) => l.msg === 'scheduled check delayed by the splay');
  await daemon.waitForLog('first deploy', deployed(1));
  // The daemon says each delay it draws (a wall-clock bound would only measure the machine's load).
  const first = daemon.logs.findIndex((l) => l.msg === 'deployed');
  assert.equal(daemon.logs.slice(0, first).filter((l) => l.msg === 'scheduled check delayed by the splay').length, 0, 'the start-up check was delayed by the splay');
  const changed = Date.now();
  writeTree(remote, { 'v.txt': 'v2' });
  await daemon.waitForLog('second deploy', deployed(2), 8_000);
  assert.ok(Date.now() - changed < 8_000, `scheduled deploy took ${Date.now() - changed} ms with splay 2s`);
  assert.ok(splayed().length > 0, 'no scheduled check was delayed by the splay');
  for (const line of splayed()) assert.ok(typeof line.delayMs === 'number' && line.delayMs >= 0 && line.delayMs < 2000, `a delay of ${String(line.delayMs)} ms with splay 2s`);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.stderr().slice(-2000));
});

test('a hook with CRLF line endings: exit 1, the message says CRLF and how to fix it; nothing published', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(join(layout.pre, '10-windows'), `#!/bin/sh\r\ntouch '${join(layout.root, 'ran')}'\r\n`, { mode: 0o755 });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /10-windows has Windows \(CRLF\) line endings/);
  assert.match(r.stderr, /sed -i 's\/\\r\$\/\/' 10-windows/);
  assert.match(r.stderr, /dos2unix 10-windows/);
  const logged = r.logs.find((l) => l.msg === 'update failed');
  assert.match(String(logged?.err), /CRLF/);
  assert.equal(layout.currentId(), null);
  assert.deepEqual(layout.releases(), []);
  assert.deepEqual(layout.leftovers(), []);
  const status = await layout.status(remote);
  assert.equal(status.lastCheck?.result, 'blocked');
  assert.match(status.lastCheck?.error ?? '', /CRLF/);
});
