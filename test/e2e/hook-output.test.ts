import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli, withSource, writeHook } from '../support/cli.js';

// Hook output is logged and shown by `status` without anything that drives a terminal, and a
// hook printing without end makes a bounded log without being slowed or blocked.

// eslint-disable-next-line no-control-regex
const terminalControl = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

test('escape sequences, CR and BEL from a hook reach neither the log nor status', async () => {
  const { layout, remote } = withSource({ 'a.txt': 'a' });
  writeHook(layout, 'post', '10-noisy', [
    String.raw`printf 'red \033[31mALERT\033[0m done\r\n'`,
    String.raw`printf 'bell\007 title\033]0;owned\007 ok\n'`,
    String.raw`printf 'tab\there\n'`,
    String.raw`printf 'progress 10%%\r20%%\n' >&2`,
  ].join('\n'));
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);

  const hookLines = r.logs.filter((l) => l.hook === '10-noisy' && typeof l.stream === 'string').map((l) => l.msg);
  assert.deepEqual(hookLines, ['red ALERT done', 'bell title ok', 'tab\there', 'progress 10%20%']);
  // The raw stderr holds the JSON text: an escaped \u001b would still be one there.
  assert.doesNotMatch(r.stderr, /\\u001b|\\u0007|\\r/);

  const status = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /10-noisy: red ALERT done/);
  for (const line of status.stdout.split('\n')) assert.doesNotMatch(line.replace(/\t/g, ' '), terminalControl, JSON.stringify(line));
  const json = await layout.status(remote);
  assert.ok(json.lastHookOutput.includes('10-noisy: bell title ok'), JSON.stringify(json.lastHookOutput));
  for (const line of json.lastHookOutput) assert.doesNotMatch(line.replace(/\t/g, ' '), terminalControl, JSON.stringify(line));
});

test('status strips control characters from hook output an older version recorded raw', async () => {
  const { layout, remote } = withSource({ 'a.txt': 'a' });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  const statePath = `${layout.deployDir}/.repo-deploy/state.json`;
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
  state.lastHookOutput = ['10-old: \x1b[2J\x1b[Hcleared\x07 screen\r'];
  writeFileSync(statePath, JSON.stringify(state));
  const status = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /10-old: cleared screen$/m);
  assert.doesNotMatch(status.stdout, /\x1b|\x07|\r/);
});

test('a hook printing 50 MB: bounded log, one line naming the bytes dropped, normal time', async () => {
  const { layout, remote } = withSource({ 'a.txt': 'a' });
  const limit = 1024 * 1024;
  writeFileSync(layout.config, 'hook-output-limit = 1M\n');
  const total = 50_000_000;
  // 500,000 lines of 99 digits and a newline, then 25 million lines of "y".
  writeHook(layout, 'post', '10-long-lines', `yes "$(printf '%099d' 0)" | head -c ${total}`);
  writeHook(layout, 'post', '20-short-lines', `yes | head -c ${total} >&2`);
  const r = await layout.fetch(remote, [], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.ok(layout.currentId(), 'nothing deployed');
  assert.ok(r.durationMs < 20_000, `took ${r.durationMs} ms`);
  // Two hook runs, each within its limit; a little more for the agent's own lines.
  assert.ok(r.stderr.length < 2 * limit + 64 * 1024, `log is ${r.stderr.length} bytes`);

  const logged = r.logs.filter((l) => l.hook === '10-long-lines' && l.stream === 'stdout');
  assert.ok(logged.length > 1000, `only ${logged.length} lines logged`);
  assert.ok(logged.every((l) => l.msg.length === 99), 'a logged line is not a whole line of output');
  const drops = r.logs.filter((l) => l.droppedBytes !== undefined);
  assert.deepEqual(drops.map((l) => l.hook), ['10-long-lines', '20-short-lines'], 'one drop line per hook run');
  assert.equal(drops[0]!.droppedBytes, total - 100 * logged.length);
  assert.match(drops[0]!.msg, new RegExp(`${total - 100 * logged.length} bytes`));
  const shortLogged = r.logs.filter((l) => l.hook === '20-short-lines' && l.stream === 'stderr');
  assert.equal(drops[1]!.droppedBytes, total - 2 * shortLogged.length);

  const s = await layout.status(remote);
  assert.match(s.lastHookOutput.at(-1)!, /^20-short-lines: \[\d+ bytes of output not logged/);
});
