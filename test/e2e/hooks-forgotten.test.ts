import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, runCli, withSource, writeHook } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: a file in a hook directory that is not run because it is not executable (a
// forgotten `chmod +x` on a safety gate) is a warning at the default log level on every run,
// and `check-config` lists it; leftovers and hidden files stay quiet.

test('non-executable hooks: warned about on every run, listed by check-config; leftovers stay quiet', async () => {
  const { layout, remote } = withSource({ 'v.txt': 'v1' });
  const gate = writeHook(layout, 'pre', '10-gate', 'exit 1', 0o644);
  writeHook(layout, 'pre', '20-ok');
  const broken = join(layout.post, '50-notify');
  symlinkSync(join(layout.root, 'no-such-script'), broken);
  writeHook(layout, 'pre', '30-old.dpkg-old', 'exit 1', 0o644);
  writeHook(layout, 'pre', '.hidden', 'exit 1', 0o644);
  mkdirSync(join(layout.pre, 'lib'));

  for (const version of ['v1', 'v2']) {
    writeTree(remote, { 'v.txt': version });
    const r = await layout.fetch(remote);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.logs.filter((l) => l.level === 'warn');
    const about = (path: string) => warnings.find((l) => l.msg.includes(path));
    assert.ok(about(gate), `no warning naming ${gate} (${version}):\n${r.stderr}`);
    assert.match(about(gate)!.msg, /not executable.*chmod \+x/);
    assert.ok(about(broken), `no warning naming ${broken} (${version})`);
    assert.match(about(broken)!.msg, /broken symlink/);
    assert.equal(warnings.some((l) => /dpkg-old|\.hidden|\/lib\b/.test(l.msg)), false, 'leftovers, hidden files and directories are not warned about');
  }
  assert.deepEqual(hookRuns(layout).map((h) => h.name), ['20-ok', '20-ok'], 'only the executable hook ran');

  const check = await runCli(['check-config', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(check.code, 0, check.stderr);
  const lines = check.stderr.split('\n').filter((l) => l.includes('warning'));
  assert.equal(lines.length, 2, check.stderr);
  assert.ok(lines.some((l) => l.includes(gate) && /pre-update hook .* not executable/.test(l)), check.stderr);
  assert.ok(lines.some((l) => l.includes(broken) && /post-update hook .* broken symlink/.test(l)), check.stderr);

  // Once fixed, silent.
  writeFileSync(join(layout.root, 'no-such-script'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  chmodSync(gate, 0o755);
  const fixed = await runCli(['check-config', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.doesNotMatch(fixed.stderr, /warning/);
});
