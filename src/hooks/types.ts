import type { Logger } from '../log.js';

/**
 * The public shapes of the hook runner (DESIGN §7). Kept apart from the code so the pipeline
 * and the status command can import them without pulling in process handling.
 */

/** When a hook runs: before the swap (a failure blocks) or after it (a failure reverts). */
export type HookPhase = 'pre-update' | 'post-update';

/** Options for `runHooks`. */
export interface RunHooksOptions {
  /** Hook directories, run in this order (the host's dir, then optionally the release's own). */
  dirs: string[];
  /** Which phase these hooks belong to; named in logs and error messages. */
  phase: HookPhase;
  /** Working directory: the new release. */
  cwd: string;
  /** Extra environment (CURRENT_CONFIG, PREVIOUS_CONFIG, REPO_DEPLOY_*), merged over process.env. */
  env: Record<string, string>;
  /** Per-hook timeout in ms. */
  timeoutMs: number;
  /** Grace between SIGTERM and SIGKILL of a timed-out hook's process group (default 5000). */
  killGraceMs?: number;
  /**
   * Most output logged per hook run, each line counted with its log record (default 4 MiB);
   * the rest is read and dropped, and one warning says how many bytes.
   */
  outputLimitBytes?: number;
  /** Where hook output and progress go; output lines are logged at info under the hook's name. */
  logger: Logger;
  /**
   * When aborted, no further hook is started (the running one finishes) and `runHooks` rejects
   * with `signal.reason`, so a half-run phase is never mistaken for a complete one.
   */
  signal?: AbortSignal;
  /** Called (and awaited) before each hook starts, with its file name: `status` shows it. */
  onHookStart?(hook: string): void | Promise<void>;
}

/** One hook that ran to a successful end. */
export interface HookRun {
  /** The hook's file name (not its path), as used in logs. */
  hook: string;
  /** Wall-clock time from start to exit. */
  durationMs: number;
}

/** What `runHooks` returns when every hook succeeded. */
export interface HookRunResult {
  /** Hooks that ran, in order, with duration and exit status. */
  ran: HookRun[];
  /** The last lines of output (at most 50), prefixed with the hook name, for `status`. */
  outputTail: string[];
}

/** What `listHooks` finds in a directory. */
export interface HookListing {
  /** File names of the hooks to run, in run order (byte order of the names). */
  run: string[];
  /** Entries that are not run, with the reason, for debug logs and dry runs. */
  skipped: { name: string; reason: string }[];
  /** True when the directory does not exist (which means: no hooks). */
  missing: boolean;
}
