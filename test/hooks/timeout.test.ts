import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { HookRunError, runHooks } from '../../src/hooks/index.js';
import { testdir } from '../support/tmp.js';
import { captureLogger } from './capture.js';

const exe = (body: string) => ({ content: `#!/bin/sh\n${body}\n`, mode: 0o755 });

/** Live (not zombie) processes in process group `pgid`, read from /proc: pid -> state. */
function liveMembers(pgid: number): Map<number, string> {
  const members = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after "(comm)": state ppid pgrp ...; comm may contain spaces, so split after ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie is already dead; it only waits for its parent (or init) to collect it.
    if (Number(pgrp) === pgid && state !== 'Z') members.set(Number(entry), state!);
  }
  return members;
}

/** True when `pid` exists and is not a zombie. */
function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

const readPid = (path: string) => Number(readFileSync(path, 'utf8').trim());

describe('hook timeouts and stray processes', () => {
  it('on timeout, terminates the whole process group, background children included', async () => {
    const out = testdir();
    const hooks = testdir({
      '10-hang': exe(`echo $$ > '${out}/hook.pid'; sleep 1000 & echo $! > '${out}/sleep.pid'; echo waiting; sleep 1000`),
    });
    const { logger, entries } = captureLogger();
    await assert.rejects(
      runHooks({ dirs: [hooks], phase: 'pre-update', cwd: out, env: {}, timeoutMs: 1000, killGraceMs: 1500, logger }),
      (error: unknown) => {
        assert.ok(error instanceof HookRunError);
        assert.equal(error.message, 'pre-update hook 10-hang timed out after 1s (a failing pre-update hook blocks the update)');
        assert.deepEqual(error.outputTail, ['10-hang: waiting']);
        return true;
      },
    );
    const hookPid = readPid(join(out, 'hook.pid'));
    const sleepPid = readPid(join(out, 'sleep.pid'));
    assert.notEqual(hookPid, process.pid);
    assert.deepEqual(liveMembers(hookPid), new Map(), 'nothing of the hook group is left');
    assert.equal(isLive(sleepPid), false, 'the background sleep was killed');
    assert.ok(entries.some((e) => e.level === 'warn' && e.hook === '10-hang' && /timed out/.test(e.msg)));
  });

  it('sends SIGKILL after the grace when the group ignores SIGTERM', async () => {
    const out = testdir();
    const hooks = testdir({
      '10-stubborn': exe(`trap '' TERM; echo $$ > '${out}/hook.pid'; sleep 1000 & echo $! > '${out}/sleep.pid'; sleep 1000`),
    });
    const { logger, entries } = captureLogger();
    const started = performance.now();
    await assert.rejects(
      runHooks({ dirs: [hooks], phase: 'post-update', cwd: out, env: {}, timeoutMs: 300, killGraceMs: 700, logger }),
      (error: unknown) => {
        assert.ok(error instanceof HookRunError);
        assert.match(error.message, /^post-update hook 10-stubborn timed out after 300ms /);
        assert.equal(error.signal, 'SIGKILL');
        return true;
      },
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 1000 - 50, `waited the grace (${elapsed}ms)`);
    assert.ok(elapsed < 10_000, `but not much longer (${elapsed}ms)`);
    assert.deepEqual(liveMembers(readPid(join(out, 'hook.pid'))), new Map());
    assert.equal(isLive(readPid(join(out, 'sleep.pid'))), false);
    assert.ok(entries.some((e) => e.level === 'warn' && /still alive after grace/.test(e.msg)));
  });

  it('does not hang when a successful hook leaves a background child holding its output', async () => {
    const out = testdir();
    const hooks = testdir({
      '10-daemon': exe(`sleep 30 & echo $! > '${out}/daemon.pid'; echo started daemon; exit 0`),
      '20-next': exe('echo next ran'),
    });
    const { logger, entries } = captureLogger();
    const started = performance.now();
    let daemonPid = 0;
    try {
      const result = await runHooks({ dirs: [hooks], phase: 'post-update', cwd: out, env: {}, timeoutMs: 20_000, logger });
      const elapsed = performance.now() - started;
      daemonPid = readPid(join(out, 'daemon.pid'));
      assert.ok(elapsed < 5000, `returned while the child still runs (${elapsed}ms)`);
      assert.deepEqual(result.ran.map((r) => r.hook), ['10-daemon', '20-next']);
      assert.deepEqual(result.outputTail, ['10-daemon: started daemon', '20-next: next ran']);
      // A hook may start a service on purpose; only a timeout kills what it started.
      assert.equal(isLive(daemonPid), true);
      assert.ok(entries.some((e) => e.level === 'warn' && e.hook === '10-daemon' && /still holds its output/.test(e.msg)));
    } finally {
      if (daemonPid) process.kill(daemonPid, 'SIGKILL');
    }
  });
});
