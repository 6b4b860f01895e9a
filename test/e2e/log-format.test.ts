/**
 * Log lines for people on a terminal, JSON otherwise. The built CLI runs under a real
 * pseudo-terminal (util-linux `script`, so standard error is a tty) or with piped output; what
 * is deployed is checked too, so a format change can never cost a deploy. A preload records
 * which CommonJS modules were loaded, to show pino-pretty stays out of a JSON run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binPath, makeLayout, parseLogs, runCli, type Layout } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

/** `[15:04:05] INFO: default tree-0123456789ab deployed release=…` with colours removed. */
const prettyLine = /^\[\d\d:\d\d:\d\d\] INFO: default tree-[0-9a-f]{12} deployed release=\S+$/m;

/** A preload that writes, at exit, every CommonJS module file loaded. */
function recordModules(): { env: Record<string, string>; loaded: () => string } {
  const dir = testdir();
  const out = join(dir, 'modules.txt');
  writeFileSync(join(dir, 'preload.cjs'), `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join('\\n')));\n`);
  return { env: { NODE_OPTIONS: `--require ${join(dir, 'preload.cjs')}` }, loaded: () => readFileSync(out, 'utf8') };
}

/** A layout with a local directory remote at its first version. */
function setUp(): { layout: Layout; remote: string } {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  return { layout, remote };
}

/** Runs the built CLI under a pseudo-terminal; returns everything the terminal showed. */
function runOnTerminal(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; screen: string }> {
  const quoted = [process.execPath, binPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REPO_DEPLOY_') && k !== 'NO_COLOR'));
  const child = spawn('script', ['-qec', quoted, '/dev/null'], { cwd, env: { ...inherited, ...env, TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (screen += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      resolve({ code, screen: screen.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '') });
    });
  });
}

test('on a terminal the lines are for people, coloured, and name app, short version and fields', async () => {
  const { layout, remote } = setUp();
  const { env, loaded } = recordModules();
  const run = await runOnTerminal([...layout.args(remote), '-f'], layout.root, env);
  assert.equal(run.code, 0, run.screen);
  assert.equal(readFileSync(join(layout.link, 'v.txt'), 'utf8'), 'v1');
  assert.match(run.screen, prettyLine);
  assert.equal(parseLogs(run.screen).length, 0, `JSON on the terminal:\n${run.screen}`);
  assert.match(loaded(), /[/\\]pino-pretty[/\\]/);
});

test('piped, the lines stay JSON and pino-pretty is never loaded', async () => {
  const { layout, remote } = setUp();
  const { env, loaded } = recordModules();
  const run = await layout.fetch(remote, [], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(readFileSync(join(layout.link, 'v.txt'), 'utf8'), 'v1');
  assert.ok(run.logs.some((l) => l.msg === 'deployed' && l.app === 'default'), run.stderr);
  assert.doesNotMatch(run.stderr, prettyLine);
  assert.match(loaded(), /[/\\]pino[/\\]/, 'the detector saw nothing');
  assert.doesNotMatch(loaded(), /[/\\]pino-pretty[/\\]/);
});

test('--log-format json on a terminal writes JSON', async () => {
  const { layout, remote } = setUp();
  const run = await runOnTerminal([...layout.args(remote), '-f', '--log-format', 'json'], layout.root);
  assert.equal(run.code, 0, run.screen);
  assert.ok(parseLogs(run.screen).some((l) => l.msg === 'deployed'), run.screen);
  assert.doesNotMatch(run.screen, prettyLine);
});

test('--log-format=pretty piped writes readable lines without colour', async () => {
  const { layout, remote } = setUp();
  const run = await layout.fetch(remote, ['--log-format=pretty']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, prettyLine);
  assert.doesNotMatch(run.stderr, /\x1b\[/);
  assert.equal(run.logs.length, 0);
});

test('log-format = pretty in the file applies piped, and the flag overrides it', async () => {
  const { layout, remote } = setUp();
  writeFileSync(layout.config, 'log-format = pretty\n');
  const pretty = await layout.fetch(remote);
  assert.equal(pretty.code, 0, pretty.stderr);
  assert.match(pretty.stderr, prettyLine);
  writeTree(remote, { 'v.txt': 'v2' });
  const json = await layout.fetch(remote, ['--log-format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(readFileSync(join(layout.link, 'v.txt'), 'utf8'), 'v2');
  assert.ok(json.logs.some((l) => l.msg === 'deployed'), json.stderr);
});

test('log-format = json in the file applies on a terminal', async () => {
  const { layout, remote } = setUp();
  writeFileSync(layout.config, 'log-format = json\n');
  const run = await runOnTerminal([...layout.args(remote), '-f'], layout.root);
  assert.equal(run.code, 0, run.screen);
  assert.ok(parseLogs(run.screen).some((l) => l.msg === 'deployed'), run.screen);
  assert.doesNotMatch(run.screen, prettyLine);
});

test('a bad log-format names the key and what it accepts', async () => {
  const { layout, remote } = setUp();
  writeFileSync(layout.config, 'log-format = fancy\n');
  const run = await layout.fetch(remote);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /repo-deploy\.cfg:1.*log-format.*"fancy".*json or pretty/);
  const flag = await runCli([...layout.args(remote), '-f', '--log-format', 'xml'], { cwd: layout.root });
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /command line.*log-format.*json or pretty/);
});
