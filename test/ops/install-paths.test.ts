/**
 * The install instructions and what they install must name one binary: the README's
 * `npm install -g --prefix PREFIX` puts the command at PREFIX/bin/repo-deploy, and the README's
 * cron line, the systemd units' ExecStart and every absolute path to the command in the units'
 * comments and etc/ must be that path. Read from the files as shipped, so an edit of any of
 * them that drifts fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(join(root, rel), 'utf8');

/** Every file under `dir` (repo-relative), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const rel = join(dir, name);
    return statSync(join(root, rel)).isDirectory() ? filesUnder(rel) : [rel];
  });
}

/** The files that say where the command is: the README, the units, the sample config and hooks. */
const sources = (): { file: string; text: string }[] =>
  ['README.md', ...filesUnder('systemd'), ...filesUnder('etc')].map((file) => ({ file, text: read(file) }));

/** `npm install -g` / `npm i -g` commands of a text, with the file:line they are on. */
function globalInstalls(file: string, text: string): { where: string; line: string }[] {
  return text
    .split('\n')
    .map((line, i) => ({ where: `${file}:${i + 1}`, line }))
    .filter(({ line }) => /\bnpm (install|i)\b.*\s(-g|--global)\b/.test(line));
}

/** The global installs of the README's `## Install` section. */
function readmeInstalls(): { where: string; line: string }[] {
  const lines = read('README.md').split('\n');
  const start = lines.findIndex((l) => /^## Install\b/.test(l));
  assert.ok(start >= 0, 'README.md has no "## Install" section');
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return globalInstalls('README.md', lines.join('\n')).filter(({ where }) => {
    const n = Number(where.split(':')[1]) - 1;
    return n > start && (end < 0 || n < end);
  });
}

/** Absolute paths of the command (`…/bin/repo-deploy`) in a text, with file:line. */
function commandPaths(file: string, text: string): { where: string; path: string }[] {
  return text.split('\n').flatMap((line, i) => [...line.matchAll(/(?<![\w.~-])((?:\/[\w.+-]+)*\/bin\/repo-deploy)(?![\w.-])/g)].map((m) => ({ where: `${file}:${i + 1}`, path: m[1]! })));
}

/** The binary the README's install command makes: PREFIX/bin/repo-deploy. */
function installedBinary(): string {
  const installs = readmeInstalls();
  assert.ok(installs.length > 0, "README.md's Install section has no `npm install -g --prefix PREFIX` command");
  const prefixes = installs.map(({ where, line }) => {
    const m = /--prefix[= ](\/\S*)/.exec(line);
    assert.ok(m, `${where}: \`${line.trim()}\` names no --prefix: where npm puts the command then depends on its configured prefix (/usr/local with Debian's npm, /usr with NodeSource's), and ExecStart may name nothing`);
    return m[1]!.replace(/\/$/, '');
  });
  assert.equal(new Set(prefixes).size, 1, `the README installs into several prefixes: ${prefixes.join(', ')}`);
  return `${prefixes[0]}/bin/repo-deploy`;
}

test('package.json installs the command as repo-deploy (npm then links PREFIX/bin/repo-deploy)', () => {
  const pkg = JSON.parse(read('package.json')) as { bin?: Record<string, string> };
  assert.equal(pkg.bin?.['repo-deploy'], 'bin/repo-deploy');
});

test("the README's install command, cron line, the units' ExecStart and every path to the command agree", () => {
  const binary = installedBinary();
  const cron = read('README.md').split('\n').filter((l) => /^(\S+\s+){5}root\s+\//.test(l));
  assert.ok(cron.length > 0, 'README.md has no cron line (`* * * * * root /…/repo-deploy -f`)');
  for (const line of cron) assert.equal(line.split(/\s+/)[6], binary, `README cron line: ${line}`);
  for (const unit of ['repo-deploy.service', 'repo-deploy-once.service']) {
    const exec = /^ExecStart=(\S+)/m.exec(read(`systemd/${unit}`));
    assert.equal(exec?.[1], binary, `systemd/${unit} ExecStart`);
  }
  const wrong = sources().flatMap(({ file, text }) => commandPaths(file, text)).filter((p) => p.path !== binary);
  assert.deepEqual(wrong.map((p) => `${p.where}: ${p.path}`), [], `every absolute path to the command must be ${binary}`);
});

test('every `npm install -g` the units and etc/ mention installs into the same prefix as the README', () => {
  const binary = installedBinary();
  const others = sources()
    .filter(({ file }) => file !== 'README.md')
    .flatMap(({ file, text }) => globalInstalls(file, text))
    .filter(({ line }) => !line.includes(`--prefix ${binary.replace(/\/bin\/repo-deploy$/, '')}`));
  assert.deepEqual(others.map((o) => `${relative(root, join(root, o.where))}: ${o.line.trim()}`), []);
});
