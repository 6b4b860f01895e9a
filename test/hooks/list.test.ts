import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HookError } from '../../src/errors.js';
import { compareNameBytes, listHooks } from '../../src/hooks/index.js';
import { testdir } from '../support/tmp.js';

const exe = (content = '#!/bin/sh\nexit 0\n') => ({ content, mode: 0o755 });

describe('listHooks', () => {
  it('orders hooks by the bytes of their names, not by locale', async () => {
    const names = ['a', 'Z', '2-b', '10-a', '_x', 'é', 'B'];
    const dir = testdir(Object.fromEntries(names.map((n) => [n, exe()])));
    const listing = await listHooks(dir);
    assert.deepEqual(listing.run, ['10-a', '2-b', 'B', 'Z', '_x', 'a', 'é']);
    // The locale order differs, which is why it must not be used.
    assert.notDeepEqual([...names].sort((x, y) => x.localeCompare(y)), listing.run);
    assert.equal(listing.missing, false);
    assert.deepEqual(listing.skipped, []);
  });

  it('compares multi-byte names by their UTF-8 bytes', () => {
    assert.ok(compareNameBytes('z', 'é') < 0);
    assert.ok(compareNameBytes('é', 'z') > 0);
    assert.equal(compareNameBytes('same', 'same'), 0);
  });

  it('skips hidden files, editor backups and every package-manager leftover', async () => {
    const leftovers = [
      '.dpkg-old', '.dpkg-new', '.dpkg-dist', '.dpkg-tmp', '.rpmnew', '.rpmsave', '.rpmorig',
      '.ucf-old', '.ucf-new', '.ucf-dist', '.orig', '.bak', '.swp',
    ];
    const files: Record<string, ReturnType<typeof exe>> = { '50-run': exe(), '.hidden': exe(), 'restart~': exe() };
    for (const suffix of leftovers) files[`10-restart${suffix}`] = exe();
    const dir = testdir(files);
    const listing = await listHooks(dir);
    assert.deepEqual(listing.run, ['50-run']);
    const skipped = new Map(listing.skipped.map((s) => [s.name, s.reason]));
    assert.equal(skipped.size, leftovers.length + 2);
    assert.match(skipped.get('.hidden')!, /hidden/);
    assert.match(skipped.get('restart~')!, /backup/);
    for (const suffix of leftovers) assert.match(skipped.get(`10-restart${suffix}`)!, new RegExp(`leftover.*"\\${suffix}"`));
  });

  it('never runs shipped examples, even when someone makes them executable', async () => {
    const dir = testdir({ '50-restart-unit.example': exe(), '60-wait.sample': exe(), '70-old.disabled': exe(), '80-real': exe() });
    const listing = await listHooks(dir);
    assert.deepEqual(listing.run, ['80-real']);
    assert.deepEqual(listing.skipped.map((s) => s.name).sort(), ['50-restart-unit.example', '60-wait.sample', '70-old.disabled']);
  });

  it('runs executable files and symlinks to them, and says why the rest are ignored', async () => {
    const dir = testdir({
      '10-exe': exe(),
      '20-plain': 'echo not executable\n',
      '30-link': { symlink: '10-exe' },
      '40-link-to-plain': { symlink: '20-plain' },
      '50-broken': { symlink: 'does-not-exist' },
      '60-readme.txt': { content: 'notes', mode: 0o644 },
    });
    mkdirSync(join(dir, '35-subdir.d'), { mode: 0o755 });
    symlinkSync('35-subdir.d', join(dir, '36-link-to-dir'));
    const listing = await listHooks(dir);
    assert.deepEqual(listing.run, ['10-exe', '30-link']);
    assert.deepEqual(
      Object.fromEntries(listing.skipped.map((s) => [s.name, s.reason])),
      {
        '20-plain': 'not executable',
        '35-subdir.d': 'directory',
        '36-link-to-dir': 'directory',
        '40-link-to-plain': 'not executable',
        '50-broken': 'broken symlink',
        '60-readme.txt': 'not executable',
      },
    );
  });

  it('treats a missing directory as no hooks', async () => {
    const dir = testdir();
    const listing = await listHooks(join(dir, 'pre-update.d'));
    assert.deepEqual(listing, { run: [], skipped: [], missing: true });
  });

  it('rejects a path that is not a directory, naming it', async () => {
    const dir = testdir({ 'pre-update.d': exe() });
    const path = join(dir, 'pre-update.d');
    await assert.rejects(listHooks(path, 'pre-update'), (error: unknown) => {
      assert.ok(error instanceof HookError);
      assert.equal(error.message, `hook directory ${path} is not a directory`);
      assert.equal(error.hook, path);
      assert.equal(error.phase, 'pre-update');
      return true;
    });
  });

  it('rejects a directory that cannot be read, naming it and the reason', async () => {
    const dir = testdir();
    const path = join(dir, 'loop.d');
    symlinkSync('loop.d', path);
    await assert.rejects(listHooks(path), (error: unknown) => {
      assert.ok(error instanceof HookError);
      assert.equal(error.message, `hook directory ${path} cannot be read (ELOOP)`);
      return true;
    });
  });
});
