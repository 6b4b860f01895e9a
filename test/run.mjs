#!/usr/bin/env node
// The whole test suite: builds the CLI, makes sure the system tools the tests need are
// present (installing Debian packages when missing), then runs every test file with node's
// test runner, several files at once.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTools } from './support/tools.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run('npx', ['tsc', '-p', 'tsconfig.json']);
// Tests and benchmarks run through tsx, which does not type-check: check them here.
run('npx', ['tsc', '-p', 'tsconfig.test.json', '--noEmit']);
ensureTools();

const filter = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(relative(root, path));
  }
})(join(root, 'test'));
const selected = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;

run(process.execPath, [
  '--import', 'tsx',
  '--test',
  '--test-concurrency=4',
  '--test-timeout=300000',
  ...selected,
]);
