import { spawn } from 'node:child_process';
import { RemoteError } from '../../errors.js';
import { formatDuration } from '../../util/duration.js';
import { redactText } from '../../util/redact.js';
import type { GitLocation } from './url.js';

/**
 * Runs git for one remote: every command under a timeout, never prompting, with this remote's
 * credentials in the environment only, and every failure turned into a `RemoteError` whose
 * text has been scrubbed of secrets.
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

/** After git exits, how long its output may take to drain before its status decides. */
const exitDrainMs = 1000;

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
    try {
      return await spawnGit(args, { cwd: options.cwd, env: fullEnv, limit, signal: options.signal, input: command.input, encoding: command.encoding ?? 'utf8' });
    } catch (error) {
      throw toRemoteError(error, args[0] ?? 'git', limit, display, options.location.secrets);
    }
  };
}

/** A git command we ended: silent for too long, or the agent is stopping. */
class GitStopped extends Error {
  constructor(readonly reason: 'timeout' | 'abort') {
    super(reason === 'timeout' ? 'timed out' : 'aborted');
  }
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

interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
  /** Silence allowed: reset by any output. */
  limit: number;
  signal: AbortSignal | undefined;
  input: string | undefined;
  encoding: 'utf8' | 'latin1';
}

// git straight from child_process, not through simple-git: simple-git waits a fixed 50 ms after
// every command that printed nothing (`cat-file -e`, `read-tree`, `checkout-index`), which was
// a quarter of a git deploy; it can neither feed standard input nor return raw bytes either.
function spawnGit(args: string[], options: SpawnOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new GitStopped('abort'));
      return;
    }
    const child = spawn('git', args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failure: Error | undefined;
    const stop = (error: Error) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(() => stop(new GitStopped('timeout')), options.limit);
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stop(new GitStopped('timeout')), options.limit);
    };
    const onAbort = () => stop(new GitStopped('abort'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => (out.push(chunk), alive()));
    child.stderr.on('data', (chunk: Buffer) => (err.push(chunk), alive()));
    // git may exit before reading all its input (a bad id): that is reported by its status.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.once('error', (error) => {
      // Could not start: 'close' may never come. A settled promise ignores later calls.
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(failure ?? error);
    });
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      clearTimeout(drain);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else if (code !== 0) reject(new Error(Buffer.concat(err).toString() || (signal ? `killed by ${signal}` : `exit status ${code}`)));
      else resolve(Buffer.concat(out).toString(options.encoding));
    };
    let drain: NodeJS.Timeout | undefined;
    // Normally 'close' follows 'exit' at once. A process git left behind holding its output
    // (an ssh connection master, a credential helper) must not hold the check, and the lock,
    // for ever: after git's exit its output gets a moment to drain, then the status decides.
    child.once('exit', (code, signal) => {
      // git has answered: silence from here on is the leftover process's, not git's.
      clearTimeout(timer);
      drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        settle(code, signal);
      }, exitDrainMs);
    });
    child.once('close', (code, signal) => settle(code, signal));
  });
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
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // A repository or index inherited from a hook's environment must never be touched.
    // Editors, pagers and askpass programs are for people at a terminal: the agent never
    // prompts (GIT_TERMINAL_PROMPT=0), and an askpass program could still open a window or
    // wait for an answer nobody gives.
    if (value !== undefined && !/^(GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE|COMMON_DIR|PAGER|EDITOR|ASKPASS|SEQUENCE_EDITOR)|EDITOR|VISUAL|PAGER|SSH_ASKPASS)$/.test(key)) {
      env[key] = value;
    }
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
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
