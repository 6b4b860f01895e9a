import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, readTree, runCli, startBackground, type LogLine } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: the daemon (no -f) on a one-second schedule: first deploy at start, picks up a
// new version, keeps running on an invalid config after SIGHUP, stops cleanly on SIGTERM.

test('daemon: deploys, picks up new versions, survives a bad SIGHUP reload, stops on SIGTERM', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, 'schedule = */1 * * * * *\n');
  const daemon = startBackground([...layout.args(remote), '-v'], { cwd: layout.root });
  const deployedCount = () => daemon.logs.filter((l) => l.msg === 'deployed').length;
  const deployedNth = (n: number) => (_line: LogLine) => deployedCount() >= n;

  await daemon.waitForLog('first deploy', deployedNth(1));
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.ok(daemon.logs.every((l) => typeof l.level === 'string' && typeof l.msg === 'string'));
  // The daemon fetches in a child process (issue 8: its memory goes back when the child exits).
  const fetched = daemon.logs.find((l) => l.msg === 'fetched in a child process');
  assert.ok(fetched, 'no fetch in a child process logged');
  assert.equal(fetched.pid, daemon.child.pid);
  assert.equal(typeof fetched.childPid, 'number');
  assert.notEqual(fetched.childPid, daemon.child.pid);

  writeTree(remote, { 'v.txt': 'v2' });
  await daemon.waitForLog('second deploy', deployedNth(2));
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });

  // An invalid config on reload is reported; the daemon keeps its old one and keeps working.
  writeFileSync(layout.config, 'schedule = */1 * * * * *\nkeep = lots\n');
  daemon.child.kill('SIGHUP');
  const refused = await daemon.waitForLog('reload refused', (l) => /not reloaded/.test(l.msg));
  assert.match(String(refused.err), /keep/);
  assert.equal(daemon.child.exitCode, null, 'still running');
  writeTree(remote, { 'v.txt': 'v3' });
  await daemon.waitForLog('third deploy after the bad reload', deployedNth(3));
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v3' });
  assert.equal(deployedCount(), 3);

  const stopAt = Date.now();
  daemon.child.kill('SIGTERM');
  const end = await daemon.exited;
  assert.equal(end.code, 0, daemon.stderr().slice(-2000));
  assert.ok(Date.now() - stopAt < 5_000, `stopped in ${Date.now() - stopAt} ms`);
  assert.ok(daemon.logs.some((l) => l.msg === 'stopped'));
  assert.deepEqual(layout.leftovers(), []);
});

test('a one-shot run (-f) fetches in its own process: it exits anyway, a child would only cost time', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  const run = await runCli([...layout.args(remote), '-f', '-v'], { cwd: layout.root });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.ok(run.logs.some((l) => l.msg === 'deployed'));
  assert.ok(!run.logs.some((l) => l.msg === 'fetched in a child process'));
});
