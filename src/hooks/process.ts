import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { hookProcessEnv } from './env.js';
import { LineSplitter, type OutputLine } from './output.js';

/**
 * Runs one hook as a child process in its own process group and reports how it ended. Knows
 * nothing of phases or messages; `run.ts` turns the outcome into success or a HookError.
 */

/**
 * How long output is still read after the hook itself exited. A hook that starts a daemon
 * with `cmd &` hands it our pipe; waiting for that pipe to close would wait for the daemon.
 */
const drainMs = 500;

/** setTimeout fires at once for delays above 2^31-1 ms, so longer timeouts are clamped. */
const maxTimerMs = 2 ** 31 - 1;

/** Options for `runHookProcess`. */
export interface HookProcessOptions {
  /** Path of the executable. */
  path: string;
  /** Name used in logs. */
  name: string;
  cwd: string;
  /** The complete environment of the hook, before `hookProcessEnv` takes the secrets out. */
  env: NodeJS.ProcessEnv;
  /** Time until the group gets SIGTERM; 0 or Infinity means never. */
  timeoutMs: number;
  /** Time from SIGTERM to SIGKILL. */
  killGraceMs: number;
  logger: Logger;
  /** Called for every line of stdout and stderr, in arrival order, until the output limit. */
  onLine: (stream: 'stdout' | 'stderr', line: OutputLine) => void;
  /** Output passed to `onLine` at most (see `OutputBudget`); the rest is read and dropped. */
  outputLimitBytes: number;
}

/** How a hook process ended. */
export interface HookExit {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** True when the timeout expired and the group was killed. */
  timedOut: boolean;
  durationMs: number;
  /** Bytes of output read but not passed to `onLine`: over `outputLimitBytes`. */
  droppedBytes: number;
}

/**
 * Spawns `path` with stdin from /dev/null and waits for it to exit. Rejects only when the
 * process could not be started (the error carries the errno code).
 */
export function runHookProcess(options: HookProcessOptions): Promise<HookExit> {
  return new Promise<HookExit>((resolve, reject) => {
    const started = performance.now();
    // detached: setsid(), so the hook leads a new process group and everything it starts can
    // be killed together, while signals sent to the agent's own group do not reach it.
    const child = spawn(options.path, [], {
      cwd: options.cwd,
      // Filtered here, at the one place hooks are started, so no caller can forget it.
      env: hookProcessEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const budget = new OutputBudget(options.outputLimitBytes);
    const streams = [readLines(child.stdout, 'stdout', options.onLine, budget), readLines(child.stderr, 'stderr', options.onLine, budget)];
    const killGroup = (signal: NodeJS.Signals) => signalGroup(child.pid, signal, options);
    const timeout = armTimeout(options, child.pid, killGroup);

    child.once('error', (error) => {
      // Only a failed spawn lands here: we never use child.kill(), and the pipes have their
      // own handlers. After a failed spawn no 'exit' follows.
      timeout.disarm();
      for (const s of streams) s.stop();
      reject(error);
    });

    child.once('exit', (status, signal) => {
      const durationMs = Math.round(performance.now() - started);
      timeout.disarm();
      void (async () => {
        if (timeout.fired) await waitForGroupGone(child.pid!, options.killGraceMs, () => killGroup('SIGKILL'));
        timeout.cancelKill();
        const drained = await Promise.race([
          Promise.all(streams.map((s) => s.ended)).then(() => true),
          delay(drainMs).then(() => false),
        ]);
        if (!drained) {
          options.logger.warn({ hook: options.name, pid: child.pid }, 'hook exited but a process it started still holds its output; no longer reading it');
        }
        for (const s of streams) s.stop();
        resolve({ status, signal, timedOut: timeout.fired, durationMs, droppedBytes: budget.dropped });
      })();
    });
  });
}

/** Signals the hook's whole process group (the hook leads it). */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals, options: HookProcessOptions): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the whole group is already gone, which is the goal. Anything else (EPERM
    // from a child that changed user) must not crash the agent from inside a timer.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH') options.logger.warn({ hook: options.name, pid, signal, code }, 'could not signal hook process group');
  }
}

/** The hook's timeout: SIGTERM to its group when it expires, SIGKILL after the grace. */
interface HookTimeout {
  /** True once the timeout expired. */
  readonly fired: boolean;
  /** Stops the timeout (the hook exited or never started). */
  disarm(): void;
  /** Stops the pending SIGKILL (the group is gone). */
  cancelKill(): void;
}

function armTimeout(options: HookProcessOptions, pid: number | undefined, killGroup: (signal: NodeJS.Signals) => void): HookTimeout {
  const { logger, name } = options;
  let fired = false;
  let killTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  if (options.timeoutMs > 0 && Number.isFinite(options.timeoutMs)) {
    timeoutTimer = setTimeout(() => {
      fired = true;
      logger.warn({ hook: name, timeoutMs: options.timeoutMs, pid }, 'hook timed out, terminating its process group');
      killGroup('SIGTERM');
      killTimer = setTimeout(() => {
        logger.warn({ hook: name, pid }, 'hook process group still alive after grace, killing it');
        killGroup('SIGKILL');
      }, Math.min(options.killGraceMs, maxTimerMs));
    }, Math.min(options.timeoutMs, maxTimerMs));
  }
  return {
    get fired() {
      return fired;
    },
    disarm: () => clearTimeout(timeoutTimer),
    cancelKill: () => clearTimeout(killTimer),
  };
}

/** A stream being split into lines. */
interface LineReader {
  /** Settles when the stream ended or errored. */
  ended: Promise<void>;
  /** Flushes the partial line and stops reading (closing our end of the pipe). */
  stop: () => void;
}

/**
 * What one hook run may still log, shared by its stdout and stderr. A line is charged its
 * bytes plus `recordBytes` for the JSON log record around it, so the log a run makes stays
 * near the limit however short its lines (`yes` would otherwise make ~100 bytes of log per 2
 * bytes of output). Once a line does not fit, nothing more is logged; the pipes are still read
 * to the end, so the hook never blocks on a full pipe, and what they carry is counted.
 */
class OutputBudget {
  /** Bytes of output not logged. */
  dropped = 0;
  private left: number;
  constructor(limit: number) {
    this.left = limit;
  }

  get exhausted(): boolean {
    return this.left < 0;
  }

  /** True when `line` may be logged; charges it, or counts it as dropped. */
  admit(line: OutputLine): boolean {
    const cost = line.bytes + recordBytes;
    if (!this.exhausted && cost <= this.left) {
      this.left -= cost;
      return true;
    }
    this.left = -1;
    this.dropped += line.bytes;
    return false;
  }
}

/** Estimated bytes of a log record beyond the line itself (time, pid, app, version, hook...). */
const recordBytes = 256;

function readLines(stream: Readable, name: 'stdout' | 'stderr', onLine: HookProcessOptions['onLine'], budget: OutputBudget): LineReader {
  const splitter = new LineSplitter();
  let stopped = false;
  const deliver = (line: OutputLine) => {
    if (budget.admit(line)) onLine(name, line);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (budget.exhausted) budget.dropped += splitter.drop();
    else for (const line of splitter.flush()) deliver(line);
    stream.removeAllListeners('data');
    stream.destroy();
  };
  stream.on('data', (chunk: Buffer) => {
    // Past the limit, chunks are only counted: no splitting, no decoding.
    if (budget.exhausted) budget.dropped += chunk.length;
    else for (const line of splitter.push(chunk)) deliver(line);
  });
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    // A read error on a pipe is not worth failing the hook for; treat it as the end.
    stream.once('error', () => resolve());
  });
  return { ended: ended.then(stop), stop };
}

/**
 * After a timed-out hook's leader exited, its children may still be alive in the group
 * (one that traps SIGTERM, say). Waits until the group is empty, or sends SIGKILL once the
 * grace is over, so nothing started by the hook outlives the timeout.
 */
async function waitForGroupGone(pgid: number, graceMs: number, kill: () => void): Promise<void> {
  const deadline = performance.now() + graceMs;
  while (groupAlive(pgid)) {
    if (performance.now() >= deadline) {
      kill();
      return;
    }
    await delay(50);
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
