import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';

test('the original flags and positionals', () => {
  const args = parseArgs(['-c', 'x.cfg', '--cache', 'C', '--pre-hooks', 'P', '--post-hooks', 'Q', '-i', 'host1', '-d', 'D', '-f', '-v', 's3://b/k.zip', 'L']);
  assert.equal(args.command, 'run');
  assert.equal(args.config, 'x.cfg');
  assert.deepEqual(args.flags, { cache: 'C', 'pre-hooks': 'P', 'post-hooks': 'Q', id: 'host1', directory: 'D', remote: 's3://b/k.zip', local: 'L' });
  assert.equal(args.fetch, true);
  assert.equal(args.verbose, true);
});

test('long forms with =, -r/-l, bundled short switches', () => {
  const args = parseArgs(['--config=x.cfg', '-r', 'R', '--local=L', '-fv']);
  assert.equal(args.config, 'x.cfg');
  assert.equal(args.flags.remote, 'R');
  assert.equal(args.flags.local, 'L');
  assert.ok(args.fetch && args.verbose);
  assert.equal(parseArgs(['-cfile.cfg']).config, 'file.cfg');
});

test('subcommands and their switches', () => {
  assert.equal(parseArgs(['status', '--json']).command, 'status');
  assert.equal(parseArgs(['status', '--json']).json, true);
  assert.equal(parseArgs(['check-config', '-c', 'a']).command, 'check-config');
  assert.equal(parseArgs(['releases', 'R', 'L']).flags.remote, 'R');
  assert.equal(parseArgs(['./status']).flags.remote, './status');
  assert.equal(parseArgs(['-f', '--dry-run']).dryRun, true);
});

test('usage errors name the argument', () => {
  for (const [argv, message] of [
    [['--frob'], /invalid flag: --frob/],
    [['-c'], /-c needs a value/],
    [['a', 'b', 'c'], /at most REMOTE and LOCAL/],
    [['-r', 'x', 'y'], /REMOTE given both/],
    [['--fetch=yes'], /invalid flag: --fetch=/],
  ] as const) {
    assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && message.test(e.message) && e.exitCode === 2);
  }
});
