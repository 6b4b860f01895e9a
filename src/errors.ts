/**
 * The handful of typed errors repo-deploy raises. Each carries what an operator needs to act
 * (file and key, URL without credentials, hook name and exit status) and maps to exactly one
 * exit code; only `src/cli.ts` turns them into a process exit.
 */

/** Exit codes, stable and documented in the README: scripts and cron mails depend on them. */
export const ExitCode = {
  /** Up to date, or deployed. */
  ok: 0,
  /** The update failed: fetch, verification, blocked, reverted, or still backing off. */
  failed: 1,
  /** Usage or configuration error. */
  usage: 2,
  /** Busy: another run holds the lock, or no rollout slot came free in time. */
  busy: 75,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: every error repo-deploy raises on purpose. */
export abstract class RepoDeployError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found in the configuration. */
export interface ConfigIssue {
  /** Config file the value came from, or `command line` / `environment`. */
  source: string;
  /** Key, e.g. `hook-timeout` or `[app web] remote`. */
  key: string;
  /** The offending value as given (never a secret). */
  value?: string;
  /** What is wrong and what is accepted. */
  message: string;
}

/** Formats one issue as `file: key = value: message`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const value = issue.value === undefined ? '' : ` = ${JSON.stringify(issue.value)}`;
  // Problems of the file's syntax (a malformed line) have no key: the line says it all.
  return `${issue.source}: ${issue.key ? `${issue.key}${value}: ` : ''}${issue.message}`;
}

/** The configuration (file, environment or flags) is invalid; all problems are listed at once. */
export class ConfigError extends RepoDeployError {
  readonly exitCode = ExitCode.usage;
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(formatConfigIssue);
    super(
      issues.length === 1
        ? `invalid config: ${lines[0]}`
        : `invalid config (${issues.length} problems):\n  ${lines.join('\n  ')}`,
    );
    this.issues = issues;
  }
}

/** The command line is wrong (unknown flag, missing value, unknown subcommand). */
export class UsageError extends RepoDeployError {
  readonly exitCode = ExitCode.usage;
}

/** The remote could not be checked or fetched. `url` never holds credentials. */
export class RemoteError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
  readonly url: string;
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super(`${message} (remote ${url})`, options);
    this.url = url;
  }
}

/** The fetched content was refused: hostile or corrupt archive, failed signature or digest. */
export class VerificationError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
}

/** A hook failed: non-zero exit, killed by a signal, timed out, or could not start. */
export class HookError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
  /** Path of the hook. */
  readonly hook: string;
  /** `pre-update` or `post-update`. */
  readonly phase: string;
  /** Exit status, or null when killed by a signal or never started. */
  readonly status: number | null;
  /** Signal that ended the hook, if any. */
  readonly signal: string | null;
  constructor(
    details: { hook: string; phase: string; status: number | null; signal: string | null },
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.hook = details.hook;
    this.phase = details.phase;
    this.status = details.status;
    this.signal = details.signal;
  }
}

/** Another run holds the app's lock. */
export class LockBusyError extends RepoDeployError {
  readonly exitCode = ExitCode.busy;
}

/** The update was attempted and did not complete (blocked, reverted, backing off). */
export class UpdateFailedError extends RepoDeployError {
  readonly exitCode = ExitCode.failed;
  /** How it did not complete. */
  readonly reason: 'blocked' | 'reverted' | 'backing-off';
  constructor(reason: UpdateFailedError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** Exit code for any error: ours carry one, anything else is a failed update. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof RepoDeployError ? error.exitCode : ExitCode.failed;
}

/** Message of any thrown value, for logs. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
