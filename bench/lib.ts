// Shared pieces of the benchmark harness (issue 8): where data lives, running and timing
// processes, and the built CLI. Every workload module uses these so that the agent and its
// baseline are measured the same way.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/..). */
export const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Generated data and scratch directories: gitignored, reused between runs where noted. */
export const dataDir = join(rootDir, 'bench', '.data');

/** The CLI shim that loads the built `dist/cli.js`. */
export const cliBin = join(rootDir, 'bin', 'repo-deploy');

/** Progress lines go to standard error so standard output holds only the table and the JSON. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Where `scratch` makes its directories: `dataDir`, or a filesystem under test (`withScratchRoot`). */
let scratchRoot = dataDir;

/** Runs `fn` with every scratch directory it makes under `root` instead of `bench/.data`. */
export async function withScratchRoot<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const was = scratchRoot;
  scratchRoot = root;
  try {
    return await fn();
  } finally {
    scratchRoot = was;
  }
}

/** A fresh, empty scratch directory under `bench/.data/<name>` (or the root `withScratchRoot` set). */
export function scratch(name: string): string {
  const dir = join(scratchRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Flushes what earlier steps left for the disk to write (`sync`), so a timed step pays for its
 * own writes only: without it, whichever side runs after a large copy, or after a baseline that
 * does not sync, pays for that writeback too.
 */
export async function settleDisk(): Promise<void> {
  await run('sync', []);
}

/** What a finished process did. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  seconds: number;
  /** Epoch milliseconds at spawn and at exit, to place the agent's log timestamps. */
  startedAt: number;
  endedAt: number;
}

/** Runs a command to completion; rejects (with its stderr) when it does not exit 0. */
export async function run(command: string, args: readonly string[], options: SpawnOptions & { allowFail?: boolean } = {}): Promise<RunResult> {
  const start = process.hrtime.bigint();
  const startedAt = Date.now();
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = await new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, seconds: Number(process.hrtime.bigint() - start) / 1e9, startedAt, endedAt: Date.now() }),
    );
  });
  if (result.code !== 0 && !options.allowFail) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited ${result.code ?? result.signal}: ${tail}`);
  }
  return result;
}

/** Runs a shell pipeline (the baselines are written as an operator would type them). */
export function sh(script: string, options: SpawnOptions = {}): Promise<RunResult> {
  return run('sh', ['-ec', script], options);
}

/** Runs the built CLI with `args`; rejects unless it exits 0. */
export function runCli(args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  return run(process.execPath, [cliBin, ...args], options);
}

/**
 * Builds `dist/` with `tsc` so the CLI measured is the current source. Other work in progress
 * may leave type errors that tsc still emits code for; those are reported, not fatal, as long
 * as `dist/cli.js` exists.
 */
export async function buildCli(): Promise<void> {
  const tsc = join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: rootDir, allowFail: true });
  if (result.code !== 0) {
    const errors = result.stdout.split('\n').filter((l) => l.includes('error TS'));
    progress(`tsc reported ${errors.length} type error(s); using the emitted dist/ anyway:\n  ${errors.slice(0, 5).join('\n  ')}`);
  }
  if (!existsSync(join(rootDir, 'dist', 'cli.js'))) throw new Error('tsc did not produce dist/cli.js');
}

/**
 * Variables of an interactive shell (and of `npm run`, which sets `EDITOR`) that a systemd
 * service does not have: the bench measures the agent and the baselines as they run on a
 * host, without them.
 */
const shellOnly = ['EDITOR', 'VISUAL', 'PAGER', 'GIT_EDITOR', 'GIT_PAGER', 'GIT_ASKPASS', 'SSH_ASKPASS', 'GIT_SEQUENCE_EDITOR'];
let warnedShellOnly = false;

/** The environment for the agent and the baselines: no `REPO_DEPLOY_*`, `npm_*` or shell-only settings. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('REPO_DEPLOY_') || key.startsWith('npm_')) continue;
    if (shellOnly.includes(key)) dropped.push(key);
    else env[key] = value;
  }
  if (dropped.length && !warnedShellOnly) {
    warnedShellOnly = true;
    progress(`note: running the agent without ${dropped.join(', ')} (a service has none)`);
  }
  return { ...env, ...extra };
}

/** A timing only counts if the deploy really put the expected version in place. */
export function expectVersion(current: string, version: string): void {
  const seen = readFileSync(join(current, 'version.txt'), 'utf8').trim();
  if (seen !== version) throw new Error(`expected version ${version} in ${current}, found ${seen}`);
}

/** Where a deploy's wall time went, from the agent's own log lines (milliseconds). */
export interface DeployPhases {
  /** Spawn to "new version, deploying": node start-up, config, lock, the version check. */
  startCheck: number;
  /** Download (or git fetch) and extraction into staging. */
  fetch: number;
  /** Publishing the release (a `sync -f` of the filesystem) and the swap. */
  publishSwap: number;
  /** Post-update hooks, state, pruning, until "deployed". */
  finish: number;
  /** "deployed" to process exit. */
  exit: number;
}

/** Reads the phases of one deploy from its pino lines; undefined when a line is missing. */
export function deployPhases(result: RunResult): DeployPhases | undefined {
  const at: Record<string, number> = {};
  for (const line of `${result.stderr}\n${result.stdout}`.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; time?: string | number };
      if (entry.msg && entry.time !== undefined) at[entry.msg] ??= new Date(entry.time).getTime();
    } catch {
      // Not a log line.
    }
  }
  const [t0, t1, t2, t3] = ['new version, deploying', 'fetched new version', 'swapped current to release', 'deployed'].map((m) => at[m]);
  if (t0 === undefined || t1 === undefined || t2 === undefined || t3 === undefined) return undefined;
  return { startCheck: t0 - result.startedAt, fetch: t1 - t0, publishSwap: t2 - t1, finish: t3 - t2, exit: result.endedAt - t3 };
}

/** Empty hook directories, so the CLI runs no hooks and reads no system directories. */
export function emptyHookDirs(under: string): { pre: string; post: string } {
  const pre = join(under, 'pre-update.d');
  const post = join(under, 'post-update.d');
  mkdirSync(pre, { recursive: true });
  mkdirSync(post, { recursive: true });
  return { pre, post };
}

/** Rounds to two decimals, for the JSON line. */
export function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Reads a `VmRSS`-style field of `/proc/<pid>/status`, in MiB (0 when the process is gone). */
export function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open file descriptors of a process (0 when it is gone). */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** The direct child processes of a process (fetch children, git), from every thread's list. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The best (fastest) round of each side, and the agent's phases in its best round (logged):
 * best-of keeps a busy moment on a shared machine out of the ratio.
 */
export function bestRounds(kind: string, agent: number[], baseline: number[], phases: Array<DeployPhases | undefined>): { agent: number; baseline: number; phases?: DeployPhases } {
  const best = { agent: Math.min(...agent), baseline: Math.min(...baseline) };
  const bestPhases = phases[agent.indexOf(best.agent)];
  if (bestPhases) progress(`${kind} agent phases (best run, ms): ${JSON.stringify(bestPhases)}`);
  return bestPhases ? { ...best, phases: bestPhases } : best;
}
