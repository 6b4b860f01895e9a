import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findKey, keySpecs } from '../../src/config/keys.js';
import { loadConfig } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { testdir } from '../support/tmp.js';

// etc/repo-deploy.cfg documents every key: "#key = value" shows the default, unless the text
// above it says "Default: ..." or "Unset by default" (then the value is an example).

const samplePath = fileURLToPath(new URL('../../etc/repo-deploy.cfg', import.meta.url));
const sample = readFileSync(samplePath, 'utf8');

/** One commented-out setting of the sample. */
interface Entry {
  key: string;
  value: string;
  /** Line index in the sample. */
  line: number;
  /** `[app NAME]` it belongs to, or null at the top level. */
  section: string | null;
  /** The value is an example, not the default. */
  example: boolean;
}

function entriesOf(text: string): Entry[] {
  const entries: Entry[] = [];
  let block: string[] = [];
  let section: string | null = null;
  text.split('\n').forEach((line, index) => {
    const app = /^#\[app ([A-Za-z0-9_-]+)\]$/.exec(line);
    const setting = /^#([a-z0-9-]+) = (.*)$/.exec(line);
    if (!line.trim()) block = [];
    else if (app) section = app[1]!;
    else if (setting) {
      const example = section !== null || /Default:|Unset by default/.test(block.join(' '));
      entries.push({ key: setting[1]!, value: setting[2]!, line: index, section, example });
    } else if (line.startsWith('# ')) block.push(line);
  });
  return entries;
}

const entries = entriesOf(sample);
const top = entries.filter((e) => e.section === null);

/** The sample with the given lines uncommented, written to a temp dir. */
function uncommented(lines: number[], extra = ''): { dir: string; file: string } {
  const dir = testdir();
  const text = sample
    .split('\n')
    .map((line, i) => (lines.includes(i) ? line.slice(1) : line))
    .join('\n');
  const file = join(dir, 'repo-deploy.cfg');
  writeFileSync(file, text + extra);
  return { dir, file };
}

const remoteLine = () => top.find((e) => e.key === 'remote')!.line;
/** Loads a sample variant; `cwd` makes relative paths in the test independent of this process. */
const load = (file: string, dir: string) => loadConfig({ configFile: file, cwd: dir });

describe('etc/repo-deploy.cfg', () => {
  test('documents every key once, and only known keys, by their canonical names', () => {
    const names = top.map((e) => e.key);
    for (const spec of keySpecs) assert.equal(names.filter((n) => n === spec.name).length, 1, `key ${spec.name} documented once`);
    for (const e of entries) assert.equal(findKey(e.key)?.name, e.key, `line ${e.line + 1}: ${e.key} is a key`);
    // Every setting has its one-line explanation right above it.
    for (const e of top) assert.match(sample.split('\n')[e.line - 1]!, /^# |^#[a-z0-9-]+ = /, `key ${e.key} explained`);
  });

  test('with the remote line uncommented it passes loadConfig', () => {
    const { dir, file } = uncommented([remoteLine()]);
    const config = load(file, dir);
    assert.equal(config.apps.length, 1);
    assert.equal(config.apps[0]!.remote, top.find((e) => e.key === 'remote')!.value);
  });

  test('the values shown as defaults are the defaults', () => {
    const { dir: d1, file: f1 } = uncommented([remoteLine()]);
    const baseline = load(f1, d1).apps[0]!;
    const defaults = top.filter((e) => !e.example);
    assert.ok(defaults.length >= 10, `${defaults.length} keys show a default`);
    const { dir, file } = uncommented([remoteLine(), ...defaults.map((e) => e.line)]);
    const withDefaults = load(file, dir).apps[0]!;
    // `source` names each temp file; everything else must match.
    assert.deepEqual({ ...withDefaults, source: '' }, { ...baseline, source: '' });
    // Defaults described in words, checked against the loader too.
    const shown = (key: string) => top.find((e) => e.key === key)!.value;
    assert.equal(shown('local'), baseline.local);
    assert.equal(shown('pre-hooks'), baseline.preHooks);
    assert.equal(shown('post-hooks'), baseline.postHooks);
    assert.equal(baseline.listen, undefined);
    assert.equal(baseline.owner, undefined);
  });

  test('every example value is valid for its key', () => {
    for (const e of entries.filter((x) => x.example)) {
      const parsed = findKey(e.key)!.parse(e.value);
      assert.ok(parsed.ok, `line ${e.line + 1}: ${e.key} = ${e.value}: ${parsed.ok ? '' : parsed.accepted}`);
    }
  });

  test('the [app NAME] example, uncommented, adds an app with its own link and hooks', () => {
    const appEntries = entries.filter((e) => e.section !== null);
    assert.ok(appEntries.some((e) => e.key === 'remote'), 'the app example has a remote');
    const header = sample.split('\n').findIndex((l) => /^#\[app /.test(l));
    const { dir, file } = uncommented([remoteLine(), header, ...appEntries.map((e) => e.line)]);
    const apps = load(file, dir).apps;
    assert.deepEqual(apps.map((a) => a.name), ['default', appEntries[0]!.section]);
    const [main, app] = apps as [(typeof apps)[0], (typeof apps)[0]];
    assert.equal(app.local, join(main.deployDir, app.name, 'current'));
    assert.equal(app.preHooks, join(dir, app.name, 'pre-update.d'));
    assert.notEqual(app.schedule, main.schedule);
  });

  test('a value that is not valid is reported naming the file and key', () => {
    // Guards the test above: uncommenting really feeds the loader.
    const { dir, file } = uncommented([remoteLine()], 'hook-timeout = soon\n');
    assert.throws(() => load(file, dir), (e: Error) => e.message.includes(file) && e.message.includes('hook-timeout'));
  });

  test('repo-deploy check-config accepts it (built CLI)', async () => {
    const { dir, file } = uncommented([remoteLine()]);
    const ok = await runCli(['check-config', '-c', file], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    const bad = uncommented([remoteLine()], 'keep = none\n');
    const refused = await runCli(['check-config', '-c', bad.file], { cwd: bad.dir });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr + refused.stdout, /keep/);
  });
});
