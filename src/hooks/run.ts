import { join } from 'node:path';
import { HookError } from '../errors.js';
import { formatDuration } from '../util/duration.js';
import { forgottenHookMessage, listHooks, looksLikeForgottenHook } from './list.js';
import { OutputTail } from './output.js';
import { preflightHook } from './preflight.js';
import { runHookProcess, type HookExit } from './process.js';
import { codeText, describeSpawnError } from './spawn-error.js';
import { defaultHookOutputLimitBytes } from '../config/types.js';
import type { HookPhase, HookRun, HookRunResult, RunHooksOptions } from './types.js';

/**
 * Runs the hooks of one phase (DESIGN §7): every directory in order, every hook in byte
 * order, one at a time, stopping at the first failure.
 */

/** Default time between SIGTERM and SIGKILL of a timed-out hook's group. */
export const defaultKillGraceMs = 5000;

/** Default most output logged per hook run (`hook-output-limit`). */

/**
 * A hook failed. Adds what `status` shows and the pipeline records: the output tail of the
 * phase up to the failure, and the hooks that had already succeeded.
 */
export class HookRunError extends HookError {
  /** The last lines of output (at most 50), prefixed with the hook name. */
  readonly outputTail: string[];
  /** Hooks of this phase that ran successfully before the failure. */
  readonly ran: HookRun[];
  constructor(
    details: { hook: string; phase: string; status: number | null; signal: string | null },
    message: string,
    context: { outputTail: string[]; ran: HookRun[] },
    options?: { cause?: unknown },
  ) {
    super(details, message, options);
    this.outputTail = context.outputTail;
    this.ran = context.ran;
  }
}

/** The output tail carried by an error from `runHooks`, or an empty list. */
export function outputTailOf(error: unknown): string[] {
  return error instanceof HookRunError ? error.outputTail : [];
}

/** Runs every hook of every dir in order; throws HookError on the first failure (the error carries outputTail too). */
export async function runHooks(options: RunHooksOptions): Promise<HookRunResult> {
  const { phase, logger, signal } = options;
  const tail = new OutputTail();
  const ran: HookRun[] = [];
  const fail = (hook: string, exit: { status: number | null; signal: string | null }, message: string, cause?: unknown) =>
    new HookRunError({ hook, phase, ...exit }, message, { outputTail: tail.snapshot(), ran: [...ran] }, cause === undefined ? undefined : { cause });

  // List every directory before running anything: an unreadable second directory must not be
  // discovered after the first one's hooks already restarted the app.
  const plan: { dir: string; names: string[] }[] = [];
  for (const dir of options.dirs) {
    const listing = await listHooks(dir, phase);
    if (listing.missing) logger.debug({ phase, dir }, 'hook directory does not exist, no hooks there');
    for (const { name, reason } of listing.skipped) {
      // A forgotten `chmod +x` on a safety gate must be seen at the default level, every run.
      if (looksLikeForgottenHook({ name, reason })) logger.warn({ phase, dir, hook: name, reason }, forgottenHookMessage(phase, join(dir, name), reason));
      else logger.debug({ phase, dir, hook: name, reason }, 'hook skipped');
    }
    plan.push({ dir, names: listing.run });
  }

  const env = { ...process.env, ...options.env };
  const limitBytes = options.outputLimitBytes ?? defaultHookOutputLimitBytes;
  for (const { dir, names } of plan) {
    for (const name of names) {
      if (signal?.aborted) {
        logger.info({ phase, hook: name }, 'hooks aborted, not starting the next one');
        signal.throwIfAborted();
      }
      const path = join(dir, name);
      let problem: string | null;
      try {
        problem = await preflightHook(path, name);
      } catch (error) {
        throw fail(path, { status: null, signal: null }, `${phase} hook ${name} cannot be read: ${codeText(error)}${hint(phase)}`, error);
      }
      if (problem) throw fail(path, { status: null, signal: null }, `${phase} ${problem}${hint(phase)}`);

      logger.info({ phase, hook: name, dir }, 'running hook');
      await options.onHookStart?.(name);
      let exit: HookExit;
      try {
        exit = await runHookProcess({
          path,
          name,
          cwd: options.cwd,
          env,
          timeoutMs: options.timeoutMs,
          killGraceMs: options.killGraceMs ?? defaultKillGraceMs,
          logger,
          onLine: (stream, line) => {
            logger.info(line.cut ? { hook: name, stream, cut: true } : { hook: name, stream }, line.text);
            tail.add(name, line.text);
          },
          outputLimitBytes: limitBytes,
        });
      } catch (error) {
        throw fail(path, { status: null, signal: null }, `${phase} hook ${name} could not be started: ${await describeSpawnError(path, error)}${hint(phase)}`, error);
      }
      if (exit.droppedBytes > 0) {
        logger.warn({ phase, hook: name, droppedBytes: exit.droppedBytes, limitBytes }, `hook output over hook-output-limit: the last ${exit.droppedBytes} bytes were not logged`);
        tail.add(name, `[${exit.droppedBytes} bytes of output not logged: over hook-output-limit]`);
      }
      const failure = describeFailure(phase, name, exit, options.timeoutMs);
      if (failure) throw fail(path, { status: exit.status, signal: exit.signal }, failure);
      logger.info({ phase, hook: name, durationMs: exit.durationMs }, 'hook finished');
      ran.push({ hook: name, durationMs: exit.durationMs });
    }
  }
  return { ran, outputTail: tail.snapshot() };
}

/** The failure message for an exit, or null when the hook succeeded. */
function describeFailure(phase: HookPhase, name: string, exit: HookExit, timeoutMs: number): string | null {
  if (exit.timedOut) return `${phase} hook ${name} timed out after ${formatDuration(timeoutMs)}${hint(phase)}`;
  if (exit.signal) return `${phase} hook ${name} was killed by signal ${exit.signal}${hint(phase)}`;
  if (exit.status !== 0) return `${phase} hook ${name} exited with status ${exit.status}${hint(phase)}`;
  return null;
}

/** What a failure in this phase does, so the operator reading the error knows the state. */
function hint(phase: HookPhase): string {
  return phase === 'pre-update'
    ? ' (a failing pre-update hook blocks the update)'
    : ' (a failing post-update hook reverts to the previous release)';
}

