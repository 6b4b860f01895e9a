import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HookError } from '../../src/errors.js';
import { HookRunError, runHooks, type RunHooksOptions } from '../../src/hooks/index.js';
import { testdir } from '../support/tmp.js';
import { captureLogger } from './capture.js';

const exe = (body: string) => ({ content: `#!/bin/sh\n${body}\n`, mode: 0o755 });

/** Options for a run in `dirs` with a fresh release dir as cwd and a captured logger. */
function setup(dirs: string[], extra: Partial<RunHooksOptions> = {}) {
  const { logger, entries } = captureLogger();
  const release = testdir({ 'VERSION': 'v2\n' });
  const options: RunHooksOptions = { dirs, phase: 'pre-update', cwd: release, env: {}, timeoutMs: 30_000, logger, ...extra };
  return { options, entries, release };
}

describe('runHooks', () => {
  it('runs every hook of every directory in byte order, one after the other', async () => {
    const out = testdir();
    const trace = join(out, 'trace');
    // Each hook sleeps a little and records start and end: overlapping runs would interleave.
    const hook = (name: string) => exe(`echo "start ${name}" >> '${trace}'; sleep 0.05; echo "end ${name}" >> '${trace}'`);
    const host = testdir({ a: hook('a'), Z: hook('Z'), '2-b': hook('2-b'), '10-a': hook('10-a'), 'skip.bak': hook('bak') });
    const own = testdir({ '01-first-of-release': hook('release') });
    const { options } = setup([host, own]);
    const result = await runHooks(options);
    const order = ['10-a', '2-b', 'Z', 'a', '01-first-of-release'];
    assert.deepEqual(result.ran.map((r) => r.hook), order);
    for (const r of result.ran) assert.ok(r.durationMs >= 40, `${r.hook} took ${r.durationMs}ms`);
    const expected = ['10-a', '2-b', 'Z', 'a', 'release'].flatMap((n) => [`start ${n}`, `end ${n}`]);
    assert.deepEqual(readFileSync(trace, 'utf8').trim().split('\n'), expected);
  });

  it('gives each hook the environment, the release as cwd and /dev/null as stdin', async () => {
    const out = testdir();
    const seen = join(out, 'seen');
    const hooks = testdir({
      '10-env': exe(
        `{ pwd -P; echo "$CURRENT_CONFIG"; echo "[$PREVIOUS_CONFIG]"; echo "$REPO_DEPLOY_PHASE"; ` +
          `echo "$HOOK_TEST_INHERITED"; readlink /proc/$$/fd/0; cat VERSION; } > '${seen}'`,
      ),
    });
    process.env.HOOK_TEST_INHERITED = 'from-agent';
    const { options, release } = setup([hooks]);
    options.env = { CURRENT_CONFIG: release, PREVIOUS_CONFIG: '', REPO_DEPLOY_PHASE: 'pre-update' };
    try {
      await runHooks(options);
    } finally {
      delete process.env.HOOK_TEST_INHERITED;
    }
    assert.deepEqual(readFileSync(seen, 'utf8').split('\n'), [
      realpathSync(release), release, '[]', 'pre-update', 'from-agent', '/dev/null', 'v2', '',
    ]);
  });

  it('logs output line by line under the hook name and keeps the tail', async () => {
    const hooks = testdir({
      '10-talk': exe(`echo one; echo two; echo oops >&2; printf 'no newline'`),
      '20-long': exe(`head -c 10000 /dev/zero | tr '\\0' x; echo; echo after`),
    });
    const { options, entries } = setup([hooks]);
    const result = await runHooks(options);
    const output = entries.filter((e) => 'stream' in e).map((e) => [e.hook, e.stream, e.msg, e.cut ?? false, e.level]);
    const talkStdout = (rows: unknown[][]) => rows.filter((r) => r[0] === '10-talk' && r[1] === 'stdout');
    assert.deepEqual(talkStdout(output), [
      ['10-talk', 'stdout', 'one', false, 'info'],
      ['10-talk', 'stdout', 'two', false, 'info'],
      ['10-talk', 'stdout', 'no newline', false, 'info'],
    ]);
    assert.deepEqual(output.filter((r) => r[1] === 'stderr'), [['10-talk', 'stderr', 'oops', false, 'info']]);
    const long = output.filter((r) => r[0] === '20-long');
    assert.equal(long.length, 2);
    assert.equal((long[0]![2] as string).length, 8192);
    assert.equal(long[0]![3], true);
    assert.equal(long[1]![2], 'after');
    assert.equal(result.outputTail.length, 6);
    assert.ok(result.outputTail.includes('10-talk: oops'));
    assert.equal(result.outputTail.at(-1), '20-long: after');
    // Progress lines name the phase and hook, lower-case.
    const finished = entries.filter((e) => e.msg === 'hook finished').map((e) => e.hook);
    assert.deepEqual(finished, ['10-talk', '20-long']);
  });

  it('fails on a non-zero exit, names the status, and runs no further hook', async () => {
    const out = testdir();
    const hooks = testdir({
      '05-ok': exe('echo fine'),
      '10-check': exe('echo "disk almost full" >&2; exit 3'),
      '20-after': exe(`touch '${join(out, 'after-ran')}'`),
    });
    const { options } = setup([hooks]);
    await assert.rejects(runHooks(options), (error: unknown) => {
      assert.ok(error instanceof HookError);
      assert.ok(error instanceof HookRunError);
      assert.equal(error.message, 'pre-update hook 10-check exited with status 3 (a failing pre-update hook blocks the update)');
      assert.equal(error.status, 3);
      assert.equal(error.signal, null);
      assert.equal(error.phase, 'pre-update');
      assert.equal(error.hook, join(hooks, '10-check'));
      assert.equal(error.exitCode, 1);
      assert.deepEqual(error.outputTail, ['05-ok: fine', '10-check: disk almost full']);
      assert.deepEqual(error.ran.map((r) => r.hook), ['05-ok']);
      return true;
    });
    assert.equal(existsSync(join(out, 'after-ran')), false);
  });

  it('says that a failing post-update hook reverts', async () => {
    const hooks = testdir({ '10-restart': exe('exit 1') });
    const { options } = setup([hooks], { phase: 'post-update' });
    await assert.rejects(runHooks(options), {
      message: 'post-update hook 10-restart exited with status 1 (a failing post-update hook reverts to the previous release)',
    });
  });

  it('fails when a hook is killed by a signal, naming the signal', async () => {
    const hooks = testdir({ '10-crash': exe('echo going; kill -9 $$') });
    const { options } = setup([hooks]);
    await assert.rejects(runHooks(options), (error: unknown) => {
      assert.ok(error instanceof HookRunError);
      assert.match(error.message, /^pre-update hook 10-crash was killed by signal SIGKILL /);
      assert.equal(error.signal, 'SIGKILL');
      assert.equal(error.status, null);
      assert.deepEqual(error.outputTail, ['10-crash: going']);
      return true;
    });
  });

  it('refuses a script with Windows line endings and says how to fix it', async () => {
    const out = testdir();
    const hooks = testdir({ '10-crlf': { content: `#!/bin/sh\r\ntouch '${join(out, 'ran')}'\r\n`, mode: 0o755 } });
    const { options } = setup([hooks]);
    await assert.rejects(runHooks(options), (error: unknown) => {
      assert.ok(error instanceof HookRunError);
      assert.match(error.message, /^pre-update hook 10-crlf has Windows \(CRLF\) line endings/);
      assert.match(error.message, /sed -i 's\/\\r\$\/\/' 10-crlf/);
      assert.match(error.message, /dos2unix 10-crlf/);
      return true;
    });
    assert.equal(existsSync(join(out, 'ran')), false);
  });

  it('refuses a script without a #! line instead of letting /bin/sh guess', async () => {
    const out = testdir();
    const hooks = testdir({ '10-bare': { content: `touch '${join(out, 'ran')}'\n`, mode: 0o755 } });
    const { options } = setup([hooks]);
    await assert.rejects(runHooks(options), /pre-update hook 10-bare cannot be executed: it has no "#!" interpreter line/);
    assert.equal(existsSync(join(out, 'ran')), false);
  });

  it('fails clearly when a hook disappears between listing and running', async () => {
    const hooks = testdir({ '20-gone': exe('exit 0') });
    writeFileSync(join(hooks, '10-remove-next'), `#!/bin/sh\nrm '${join(hooks, '20-gone')}'\n`, { mode: 0o755 });
    const { options } = setup([hooks]);
    await assert.rejects(runHooks(options), (error: unknown) => {
      assert.ok(error instanceof HookRunError);
      assert.match(error.message, /^pre-update hook 20-gone cannot be read: ENOENT/);
      assert.deepEqual(error.ran.map((r) => r.hook), ['10-remove-next']);
      return true;
    });
  });

  it('runs an ELF binary linked into the hook directory', async () => {
    const hooks = testdir({ '10-true': { symlink: '/bin/true' } });
    const { options } = setup([hooks]);
    const result = await runHooks(options);
    assert.deepEqual(result.ran.map((r) => r.hook), ['10-true']);
  });

  it('treats a missing directory as no hooks (debug); a non-executable file is a warning', async () => {
    const out = testdir();
    const hooks = testdir({ '10-a': exe(`touch '${join(out, 'ran')}'`), '20-plain': 'not executable' });
    const missing = join(out, 'no-such.d');
    const { options, entries } = setup([missing, hooks]);
    const result = await runHooks(options);
    assert.deepEqual(result.ran.map((r) => r.hook), ['10-a']);
    assert.ok(existsSync(join(out, 'ran')));
    assert.ok(entries.some((e) => e.level === 'debug' && e.dir === missing && /does not exist/.test(e.msg)));
    // A non-executable file with an ordinary name is a forgotten chmod +x: warned about.
    assert.ok(entries.some((e) => e.level === 'warn' && e.hook === '20-plain' && e.reason === 'not executable'));
  });

  it('rejects a hook path that is not a directory before running any hook', async () => {
    const out = testdir({ 'post-update.d': 'a file' });
    const notDir = join(out, 'post-update.d');
    const hooks = testdir({ '10-a': exe(`touch '${join(out, 'ran')}'`) });
    const { options } = setup([hooks, notDir]);
    await assert.rejects(runHooks(options), (error: unknown) => {
      assert.ok(error instanceof HookError);
      assert.equal(error.message, `hook directory ${notDir} is not a directory`);
      assert.equal(error.phase, 'pre-update');
      return true;
    });
    assert.equal(existsSync(join(out, 'ran')), false);
  });

  it('starts no further hook once aborted, letting the running one finish', async () => {
    const out = testdir();
    const hooks = testdir({
      '10-first': exe(`echo started; sleep 0.3; touch '${join(out, 'first-done')}'`),
      '20-second': exe(`touch '${join(out, 'second-ran')}'`),
    });
    const controller = new AbortController();
    const { logger, entries } = captureLogger((entry) => {
      if (entry.hook === '10-first' && entry.msg === 'started') controller.abort(new Error('agent stopping'));
    });
    const release = testdir();
    const run = runHooks({ dirs: [hooks], phase: 'post-update', cwd: release, env: {}, timeoutMs: 30_000, logger, signal: controller.signal });
    await assert.rejects(run, { message: 'agent stopping' });
    assert.ok(existsSync(join(out, 'first-done')), 'the running hook finished');
    assert.equal(existsSync(join(out, 'second-ran')), false);
    assert.ok(entries.some((e) => e.msg === 'hook finished' && e.hook === '10-first'));
  });
});
