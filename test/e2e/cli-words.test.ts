import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, withSource, type Layout } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: a mistyped subcommand or app name is a usage error (exit 2), never a REMOTE or
// the default app.

/** `-c CONFIG` with the layout's cache and hook dirs, then `rest`. */
function run(layout: Layout, ...rest: string[]) {
  return runCli(['-c', layout.config, '--cache', layout.cache, '--pre-hooks', layout.pre, '--post-hooks', layout.post, ...rest], { cwd: layout.root, timeoutMs: 15_000 });
}

test('a bare word that is no command, URL or path: exit 2 "unknown command", nothing started or written', async () => {
  const { layout, remote } = withSource({ 'v.txt': 'v1' });
  writeFileSync(layout.config, `remote = ${remote}\nlocal = ${layout.link}\n`);
  const typo = await run(layout, 'stauts');
  assert.equal(typo.code, 2, typo.stderr);
  assert.match(typo.stderr, /unknown command: stauts \(did you mean status\?\)/);
  const other = await run(layout, '-f', 'frobnicate');
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /unknown command: frobnicate;/);
  assert.doesNotMatch(other.stderr, /did you mean/);
  assert.equal(existsSync(join(layout.deployDir, '.repo-deploy')), false, 'no state was written');
  assert.equal(existsSync(layout.link), false);

  // The same word naming an existing directory is a REMOTE, as before.
  mkdirSync(join(layout.root, 'stauts'));
  writeTree(join(layout.root, 'stauts'), { 'v.txt': 'from stauts' });
  writeFileSync(join(layout.root, 'empty.cfg'), '');
  const path = await runCli(['-c', join(layout.root, 'empty.cfg'), '--cache', layout.cache, '-f', 'stauts', layout.link], { cwd: layout.root });
  assert.equal(path.code, 0, path.stderr);
  assert.equal(readFileSync(join(layout.link, 'v.txt'), 'utf8'), 'from stauts');
});

test('an unknown app name: exit 2 for every app command, without [app] sections; nothing rolled back', async () => {
  const { layout, remote } = withSource({ 'v.txt': 'v1' });
  writeFileSync(layout.config, `remote = ${remote}\nlocal = ${layout.link}\n`);
  assert.equal((await run(layout, '-f')).code, 0);
  writeTree(remote, { 'v.txt': 'v2' });
  assert.equal((await run(layout, '-f')).code, 0);
  const current = layout.currentId();
  for (const command of ['status', 'releases', 'rollback', 'resume', 'check']) {
    const r = await run(layout, command, 'nosuchapp');
    assert.equal(r.code, 2, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /unknown app: nosuchapp; .* configures default/, command);
  }
  assert.equal(layout.currentId(), current, 'rollback nosuchapp changed nothing');
  assert.equal(readFileSync(join(layout.link, 'v.txt'), 'utf8'), 'v2');
  const named = await run(layout, 'status', 'default');
  assert.equal(named.code, 0, named.stderr);
});
