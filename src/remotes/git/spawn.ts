import { spawn } from 'node:child_process';

/**
 * The one place the agent starts git: a silence timeout, an abort that kills it, and an
 * environment with nothing that could point git at another repository or make it prompt.
 */

/** A git command we ended: silent for too long, or the agent is stopping. */
export class GitStopped extends Error {
  constructor(readonly reason: 'timeout' | 'abort') {
    super(reason === 'timeout' ? 'timed out' : 'aborted');
  }
}

/** What a git command that ran did. */
export interface GitResult {
  /** Exit status; null when git was killed by a signal. */
  code: number | null;
  /** The signal that killed git, if any. */
  signal: NodeJS.Signals | null;
  /** Standard output, decoded as asked. */
  stdout: string;
  /** Standard error, as UTF-8. */
  stderr: string;
}

/** How to run one command. */
export interface SpawnOptions {
  /** Directory git runs in. */
  cwd: string;
  /** git's whole environment (see `scrubbedEnv`). */
  env: Record<string, string>;
  /** Silence allowed: reset by any output. */
  limit: number;
  /** Aborted when the agent stops: git is killed. */
  signal: AbortSignal | undefined;
  /** Written to git's standard input. */
  input: string | undefined;
  /** `latin1` returns standard output byte for byte (paths need not be UTF-8). */
  encoding: 'utf8' | 'latin1';
}

/** After git exits, how long its output may take to drain before its status decides. */
const exitDrainMs = 1000;

/**
 * The agent's environment without what would redirect or hold up git: a repository or index
 * inherited from a hook's environment must never be touched, and editors, pagers and askpass
 * programs are for people at a terminal (an askpass program could open a window or wait for an
 * answer nobody gives). Prompts are off.
 */
export function scrubbedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE|COMMON_DIR|PAGER|EDITOR|ASKPASS|SEQUENCE_EDITOR)|EDITOR|VISUAL|PAGER|SSH_ASKPASS)$/.test(key)) {
      env[key] = value;
    }
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  return env;
}

// git straight from child_process, not through simple-git: simple-git waits a fixed 50 ms after
// every command that printed nothing (`cat-file -e`, `read-tree`, `checkout-index`), which was
// a quarter of a git deploy; it can neither feed standard input nor return raw bytes either.
/** Runs git; rejects only when it could not start or was stopped (`GitStopped`). */
export function spawnGit(args: string[], options: SpawnOptions): Promise<GitResult> {
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
    const done = () => {
      clearTimeout(timer);
      clearTimeout(drain);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error) => {
      // Could not start: 'close' may never come. A settled promise ignores later calls.
      done();
      reject(failure ?? error);
    });
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      if (failure) reject(failure);
      else resolve({ code, signal, stdout: Buffer.concat(out).toString(options.encoding), stderr: Buffer.concat(err).toString() });
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
