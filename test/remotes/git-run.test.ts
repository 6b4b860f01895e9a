// The git runner: a process git leaves behind holding its output (an ssh connection master, a
// credential helper) must not hold a check, and so the app's lock, until it goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteError } from '../../src/errors.js';
import { createGitRunner } from '../../src/remotes/git/run.js';
import { parseGitUrl } from '../../src/remotes/git/url.js';
import { testdir } from '../support/tmp.js';

/** A runner whose `git` is a shell script in a directory put first on PATH. */
function runnerWithFakeGit(script: string) {
  const bin = testdir();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\n${script}\n`);
  chmodSync(join(bin, 'git'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  const git = createGitRunner({ location: parseGitUrl('file:///nowhere/app.git'), cwd: testdir(), connectTimeoutMs: 1000, readTimeoutMs: 1000 });
  return { git, restore: () => (process.env.PATH = saved) };
}

test('git that exits while a leftover process holds its output: answered by its status, promptly', async () => {
  // Prints, exits 0, and leaves a child holding stdout open for 20 s.
  const { git, restore } = runnerWithFakeGit('echo abc123; (sleep 20) & exit 0');
  try {
    const started = Date.now();
    assert.equal((await git(['ls-remote'])).trim(), 'abc123');
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  } finally {
    restore();
  }
});

test('git killed by a signal says which', async () => {
  const { git, restore } = runnerWithFakeGit('kill -TERM $$');
  try {
    await assert.rejects(git(['ls-remote']), (error: unknown) => error instanceof RemoteError && /git ls-remote failed: killed by SIGTERM/.test(error.message));
  } finally {
    restore();
  }
});
