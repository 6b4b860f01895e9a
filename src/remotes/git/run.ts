import { RemoteError } from '../../errors.js';
import { formatDuration } from '../../util/duration.js';
import { redactText } from '../../util/redact.js';
import { GitStopped, scrubbedEnv, spawnGit, type GitResult } from './spawn.js';
import type { GitLocation } from './url.js';

/**
 * Runs git for one remote: every command under a timeout, never prompting, with this remote's
 * credentials in the environment only, and every failure turned into a `RemoteError` whose
 * text has been scrubbed of secrets. Every git command of the agent goes through `spawnGit`
 * (`spawn.ts`): this runner for remotes, `runLocalGit` for the signature checks.
 */

/** Options for `createGitRunner`. */
export interface GitRunnerOptions {
  /** The remote, for credentials, secrets to scrub and the URL named in errors. */
  location: GitLocation;
  /** Directory git runs in (must exist; never a work tree). */
  cwd: string;
  /** Connecting: SSH `ConnectTimeout`. */
  connectTimeoutMs: number;
  /** Silence while reading: a command with no output for this long is killed. */
  readTimeoutMs: number;
  /** Private key for SSH, used for this remote only. */
  sshKey?: string;
  /** known_hosts file to check SSH host keys against. */
  knownHosts?: string;
  /** Aborted when the agent stops. */
  signal?: AbortSignal;
}

/** Per-command options. */
export interface GitCommandOptions {
  /** Repository to act on (`GIT_DIR`); none for `ls-remote`. */
  gitDir?: string;
  /** Extra environment, e.g. `GIT_INDEX_FILE`. */
  env?: Record<string, string>;
  /**
   * A command that never touches the network (checkout, fsck): it may be silent for as long
   * as a large tree takes, so it gets `localTimeoutMs` instead of the network budget.
   */
  local?: boolean;
  /** Written to git's standard input (e.g. object ids for `cat-file --batch`). */
  input?: string;
  /**
   * `latin1` returns git's output byte for byte (one char per byte): for paths and symlink
   * targets, which are bytes and need not be UTF-8. Default `utf8`.
   */
  encoding?: 'utf8' | 'latin1';
}

/** Silence allowed to a local command before it is considered stuck. */
export const localTimeoutMs = 10 * 60_000;

/** Runs one git command and returns its standard output. */
export type GitRunner = (args: string[], options?: GitCommandOptions) => Promise<string>;

/** Builds the runner for one remote (see the module comment). */
export function createGitRunner(options: GitRunnerOptions): GitRunner {
  const env = gitEnv(options);
  // Commands that connect stay silent until the server answers, so the budget for silence
  // covers connecting as well as reading.
  const block = options.connectTimeoutMs + options.readTimeoutMs;
  const display = options.location.display;
  return async (args, command = {}) => {
    const limit = command.local ? Math.max(block, localTimeoutMs) : block;
    const fullEnv = { ...env, ...(command.gitDir ? { GIT_DIR: command.gitDir } : {}), ...command.env };
    let result: GitResult;
    try {
      result = await spawnGit(args, { cwd: options.cwd, env: fullEnv, limit, signal: options.signal, input: command.input, encoding: command.encoding ?? 'utf8' });
    } catch (error) {
      throw toRemoteError(error, args[0] ?? 'git', limit, display, options.location.secrets);
    }
    if (result.code === 0) return result.stdout;
    const why = result.stderr || (result.signal ? `killed by ${result.signal}` : `exit status ${result.code}`);
    throw toRemoteError(new Error(why), args[0] ?? 'git', limit, display, options.location.secrets);
  };
}

/** True when `error` came from our timeout or from the agent stopping: retrying won't help. */
export function isTimeoutOrAbort(error: unknown): boolean {
  const cause = error instanceof RemoteError ? error.cause : error;
  return cause instanceof GitStopped;
}

/** Removes credentials from text git printed (URLs with user:password, known secrets). */
export function scrubGitText(text: string, secrets: readonly string[]): string {
  const scrubbed = redactText(text, secrets).replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]+@/gi, (all, scheme: string) =>
    /^(https?|git\+https?):/i.test(scheme) || all.includes(':', scheme.length) ? `${scheme}***@` : all,
  );
  const oneLine = scrubbed.trim().split(/\r?\n/).filter((l) => l.trim() !== '').join('; ');
  return oneLine.length > 600 ? `…${oneLine.slice(-600)}` : oneLine;
}

function toRemoteError(error: unknown, sub: string, block: number, display: string, secrets: readonly string[]): RemoteError {
  if (error instanceof GitStopped && error.reason === 'timeout') {
    return new RemoteError(display, `git ${sub} timed out: no answer for ${formatDuration(block)}`, { cause: error });
  }
  if (error instanceof GitStopped && error.reason === 'abort') {
    return new RemoteError(display, `git ${sub} aborted: the agent is stopping`, { cause: error });
  }
  const text = scrubGitText(error instanceof Error ? error.message : String(error), secrets);
  // The cause would carry git's unscrubbed message: keep only the scrubbed text.
  return new RemoteError(display, `git ${sub} failed: ${text || 'no message'}`);
}

// Where git's credential helper reads the credentials: names of git's environment only.
const usernameVar = 'REPO_DEPLOY_GIT_USERNAME';
const passwordVar = 'REPO_DEPLOY_GIT_PASSWORD';

/**
 * A shell helper (git runs `!…` through sh, adding the action as an argument): answers `get`
 * with the variables' values, ignores `store` and `erase`. Its text names the variables, never
 * their values, so the argv of that shell holds no secret either.
 */
const credentialHelper = `!f() { test "$1" = get || exit 0; printf 'username=%s\\npassword=%s\\n' "$${usernameVar}" "$${passwordVar}"; }; f`;

function gitEnv(options: GitRunnerOptions): Record<string, string> {
  const env = scrubbedEnv();
  // HTTP transfers slower than 1 byte/s for the read timeout are aborted by git itself.
  env.GIT_HTTP_LOW_SPEED_LIMIT = '1';
  env.GIT_HTTP_LOW_SPEED_TIME = String(Math.max(1, Math.ceil(options.readTimeoutMs / 1000)));
  if (options.sshKey || options.knownHosts) {
    const parts = ['ssh', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${Math.max(1, Math.ceil(options.connectTimeoutMs / 1000))}`];
    if (options.sshKey) parts.push('-i', shellQuote(options.sshKey), '-o', 'IdentitiesOnly=yes');
    if (options.knownHosts) parts.push('-o', shellQuote(`UserKnownHostsFile=${options.knownHosts}`));
    // A configured key means an unattended host: an unknown host key is an error, not a question.
    parts.push('-o', 'StrictHostKeyChecking=yes');
    env.GIT_SSH_COMMAND = parts.join(' ');
  }
  const credentials = options.location.credentials;
  if (credentials) {
    // Credentials go through the environment (readable only by us), never a command line
    // (readable by every user in `ps`): git is given the clean URL, and on the server's 401 asks
    // the helper below, which prints them from git's environment. The empty value first drops
    // any helper of the host's git config, so no `store` helper writes our token to disk.
    const n = Number(env.GIT_CONFIG_COUNT ?? 0) || 0;
    const key = `credential.${credentials.prefix}.helper`;
    env[`GIT_CONFIG_KEY_${n}`] = key;
    env[`GIT_CONFIG_VALUE_${n}`] = '';
    env[`GIT_CONFIG_KEY_${n + 1}`] = key;
    env[`GIT_CONFIG_VALUE_${n + 1}`] = credentialHelper;
    env.GIT_CONFIG_COUNT = String(n + 2);
    env[usernameVar] = credentials.username;
    env[passwordVar] = credentials.password;
  }
  return env;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Options of `runLocalGit`. */
export interface LocalGitOptions {
  /** Directory git runs in. */
  cwd: string;
  /** Extra environment over the agent's scrubbed one; an undefined value removes a variable. */
  env?: Record<string, string | undefined>;
  /** Silence allowed before the command is killed (default `localTimeoutMs`). */
  limitMs?: number;
  /** Aborted when the agent stops. */
  signal?: AbortSignal;
}

/**
 * One git command that never touches the network (a signature check), with the runner's
 * environment scrubbing, silence timeout and abort. Unlike the runner it returns a failed
 * command's status and output, since the caller reads its verdict from them; it throws only
 * when git could not start or was stopped (`isTimeoutOrAbort` tells which).
 */
export function runLocalGit(args: string[], options: LocalGitOptions): Promise<GitResult> {
  const env = scrubbedEnv();
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return spawnGit(args, { cwd: options.cwd, env, limit: options.limitMs ?? localTimeoutMs, signal: options.signal, input: undefined, encoding: 'utf8' });
}
