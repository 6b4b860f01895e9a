import { fork } from 'node:child_process';
import type { DestinationStream } from 'pino';
import { RemoteError, VerificationError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';

/**
 * One job in a short-lived child process: the parent forks, sends the job, gets log lines and
 * one answer, and the child exits. What the job allocated (a download's buffers, the native
 * memory of inflating thousands of entries) goes back to the system with it, which a
 * long-lived process's allocator never does: that is how the daemon's RSS stays at what its
 * idle checks cost (measured by `npm run bench -- --only daemon`).
 */

/** Options for `runChildJob`. */
export interface ChildJobOptions {
  /** Gets the child's log lines, at the child's level and with its fields. */
  logger: Logger;
  /** Aborting stops the child (SIGTERM, then SIGKILL); the promise rejects with the reason. */
  signal?: AbortSignal;
  /** What the job is, for errors: `fetch of <url>`. */
  what: string;
}

/** A job's answer, and what it cost the child. */
export interface ChildJobResult<T> {
  value: T;
  /** The child's process id (it has exited by the time this resolves). */
  pid: number;
  /** The child's peak resident set, bytes: memory the parent never had to hold. */
  peakRssBytes: number;
}

/** The errors a job may throw, as they cross the process boundary. */
interface SerializedError {
  name: string;
  message: string;
  url?: string;
}

type ChildMessage =
  | { type: 'log'; line: string }
  | { type: 'done'; value: unknown; peakRssBytes: number }
  | { type: 'failed'; error: SerializedError };

/** What the child gets: the job and how to log. */
interface Envelope {
  job: unknown;
  level: string;
}

/** After SIGTERM, how long a child has to stop at a safe point before it is killed. */
const stopGraceMs = 10_000;

/**
 * Runs `job` in a child process started from `entry` (a module that calls `serveChildJob`).
 * Rejects with the job's own error (`RemoteError` and `VerificationError` keep their class),
 * with the abort reason, or with an error saying how the child died.
 */
export async function runChildJob<T>(entry: string, job: unknown, options: ChildJobOptions): Promise<ChildJobResult<T>> {
  const { signal, logger } = options;
  signal?.throwIfAborted();
  // Not the parent's flags: `--inspect` would fight over its port, `-e`/`--input-type` refuse
  // a file. Run from source (tests), the child needs tsx like its parent.
  const execArgv = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  // stdout stays the parent's own (it may be a report); stderr is shared, so a crash of the
  // child is visible where the agent logs.
  const child = fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  const pid = child.pid ?? 0;
  let answer: Exclude<ChildMessage, { type: 'log' }> | undefined;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'log') relayLog(logger, message.line);
    else answer ??= message;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    // 'close', not 'exit': the answer may still be in the IPC pipe when 'exit' fires (seen with
    // 50 children at once on a loaded host: "exited 0 before it answered").
    child.once('close', (code, sig) => resolve({ code, signal: sig }));
  });
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const envelope: Envelope = { job, level: logger.level };
    child.send(envelope, (error) => error && child.kill('SIGKILL'));
    // Settled only once the child is gone: nothing it does can outlive the promise.
    const end = await exited;
    signal?.throwIfAborted();
    if (answer?.type === 'done') return { value: answer.value as T, pid, peakRssBytes: answer.peakRssBytes };
    if (answer) throw reviveError(answer.error);
    const how = end.error ? end.error.message : end.signal ? `was killed by ${end.signal}${end.signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : `exited ${end.code}`;
    throw new Error(`error in ${options.what}: its process ${how} before it answered`);
  } finally {
    clearTimeout(killTimer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The child's side: takes one job, runs `handler`, answers, and lets the process end. SIGTERM
 * (the parent stopping) aborts the handler's signal; the parent's death ends the process. Either
 * way nobody wants the result any more, and what it was writing is cleaned up by the next run.
 */
export function serveChildJob(handler: (job: never, tools: { signal: AbortSignal; logger: Logger }) => Promise<unknown>): void {
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    controller.abort(new Error('stopped by the agent'));
    // A handler that ignores its signal still ends, a little later.
    setTimeout(() => process.exit(1), stopGraceMs).unref();
  });
  // The agent gone (killed), its lock is free and the next run may already be recovering:
  // stop writing at once. Also how the process ends after answering.
  process.once('disconnect', () => process.exit());
  process.once('message', (envelope: Envelope) => {
    const logger = createLogger({ destination: relayDestination() });
    logger.level = envelope.level;
    void handler(envelope.job as never, { signal: controller.signal, logger }).then(
      (value) => answer({ type: 'done', value, peakRssBytes: process.resourceUsage().maxRSS * 1024 }),
      (error: unknown) => answer({ type: 'failed', error: serializeError(error) }),
    );
  });
}

function answer(message: ChildMessage): void {
  // Disconnecting once the answer is flushed lets the process end on its own.
  if (process.connected) process.send!(message, () => process.disconnect());
}

/** A pino destination that hands each line to the parent. */
function relayDestination(): DestinationStream {
  return {
    write(line: string) {
      if (process.connected) process.send!({ type: 'log', line } satisfies ChildMessage);
    },
  };
}

/** Logs one of the child's lines through the parent's logger (its bindings, its destination). */
function relayLog(logger: Logger, line: string): void {
  try {
    const { level, msg, time: _time, pid: _pid, name: _name, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const log = typeof level === 'string' && level in logger.levels.values ? logger[level as 'info'].bind(logger) : logger.info.bind(logger);
    log(fields, typeof msg === 'string' ? msg : '');
  } catch {
    logger.info(line.trim());
  }
}

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  return { name: error.name, message: error.message, ...(error instanceof RemoteError ? { url: error.url } : {}) };
}

/** The error again, of the same class where the pipeline tells classes apart. */
function reviveError(error: SerializedError): Error {
  if (error.name === 'VerificationError') return new VerificationError(error.message);
  if (error.name === 'RemoteError' && error.url !== undefined) {
    // The message already names the remote: keep it as it was, not suffixed twice.
    const revived = new RemoteError(error.url, '');
    revived.message = error.message;
    return revived;
  }
  return new Error(error.message);
}
