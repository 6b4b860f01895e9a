import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, runCli } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: usage and configuration errors (exit 2, every problem named at once), help and
// version (exit 0).

test('malformed config: exit 2, every bad key named at once, nothing deployed', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, ['keep = many', 'hook-timeout = soon', 'schedule = not a schedule', 'no-such-key = 1', ''].join('\n'));
  const r = await layout.fetch(remote);
  assert.equal(r.code, 2, r.stderr);
  for (const key of ['keep', 'hook-timeout', 'schedule', 'no-such-key']) {
    assert.match(r.stderr, new RegExp(`\\b${key}\\b`), `error names ${key}:\n${r.stderr}`);
  }
  assert.ok(r.stderr.includes(layout.config), 'errors name the file');
  assert.equal(existsSync(layout.link), false);

  const check = await runCli(['check-config', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(check.code, 2);
  assert.match(check.stderr, /no-such-key/);
});

test('check-config: a valid config exits 0 and changes nothing', async () => {
  const layout = makeLayout();
  writeFileSync(layout.config, 'keep = 3\nhook-timeout = 90s\n');
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  const r = await runCli(['check-config', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /OK/);
  assert.equal(existsSync(layout.releasesDir), false);
});

test('a config file given with -c that does not exist: exit 2 naming it', async () => {
  const layout = makeLayout();
  const missing = join(layout.root, 'nope.cfg');
  const r = await runCli(['-f', '-c', missing, join(layout.root, 'src'), layout.link], { cwd: layout.root });
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(missing), r.stderr);
});

test('unknown flag: exit 2 naming it', async () => {
  const r = await runCli(['-f', '--no-such-flag', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--no-such-flag/);
  assert.equal(r.stdout, '');
});

test('too many positionals: exit 2', async () => {
  const r = await runCli(['-f', 'a', 'b', 'c']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid arguments/);
});

test('--help and -h: exit 0 with usage on stdout; subcommand help', async () => {
  for (const flag of ['--help', '-h']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: repo-deploy/);
    assert.match(r.stdout, /exit codes/);
  }
  const status = await runCli(['status', '--help']);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /usage: repo-deploy status/);
});

test('--version: exit 0 with the package version', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `repo-deploy ${pkg.version}`);
});
