// Shared pieces of the benchmark harness (issue 8): where data lives, running and timing
// processes, generating trees and archives, and the built CLI. Every workload module uses these
// so that the agent and its baseline are measured the same way.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** A fresh, empty scratch directory under `bench/.data/<name>`. */
export function scratch(name: string): string {
  const dir = join(dataDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
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
 * service does not have. simple-git refuses to run git while any of them is set, so the git
 * remote fails under them; the bench measures the agent as it runs on a host, without them.
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
    progress(`note: running the agent without ${dropped.join(', ')} (a service has none; simple-git refuses to run git with them)`);
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

/** 1 MiB of source-like text: compresses about as well as real code. */
const corpus = (() => {
  const words = 'const let function return import export from await async if else for while new this true false null value result error config release remote'.split(' ');
  const lines: string[] = [];
  let size = 0;
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  while (size < 2 ** 20) {
    const n = 3 + Math.floor(rand() * 10);
    const line = `${' '.repeat(2 * Math.floor(rand() * 4))}${Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(' ')};\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
})();

/** What `writeTextTree` should write. */
export interface TreeSpec {
  /** Number of 1–8 KiB text files. */
  files: number;
  /** Extra incompressible bytes, split over a few `assets/blob-N.bin` files. */
  blobBytes?: number;
  /** Written to `version.txt`, so a deployed tree can be checked. */
  version: string;
}

/** Writes a tree of text files in 50 directories (every tenth executable) plus blobs. */
export function writeTextTree(dir: string, spec: TreeSpec): void {
  const made = new Set<string>();
  for (let i = 0; i < spec.files; i++) {
    const path = join(dir, `d${i % 50}`, `file-${i}.txt`);
    if (!made.has(dirname(path))) mkdirSync(dirname(path), { recursive: true });
    made.add(dirname(path));
    const length = 1024 + ((i * 7919) % (7 * 1024));
    const at = (i * 104729) % (corpus.length - length);
    writeFileSync(path, corpus.subarray(at, at + length), { mode: i % 10 === 0 ? 0o755 : 0o644 });
  }
  const blobs = spec.blobBytes ? Math.max(1, Math.round(spec.blobBytes / 32e6)) : 0;
  if (blobs) mkdirSync(join(dir, 'assets'), { recursive: true });
  for (let i = 0; i < blobs; i++) {
    const chunks: Buffer[] = [];
    const each = Math.floor(spec.blobBytes! / blobs);
    for (let done = 0; done < each; done += 2 ** 20) chunks.push(pseudoRandom(Math.min(2 ** 20, each - done), i * 4096 + done / 2 ** 20));
    writeFileSync(join(dir, 'assets', `blob-${i}.bin`), Buffer.concat(chunks));
  }
  writeFileSync(join(dir, 'version.txt'), `${spec.version}\n`);
}

/**
 * Incompressible bytes, fast and reproducible (xorshift). `crypto.randomBytes` would do, but
 * the same seed giving the same bytes keeps regenerated archives comparable between runs.
 */
function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length + 3);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out.subarray(0, length);
}

/**
 * A zip of a generated tree, made once with Info-ZIP `zip` (what most pipelines use) and reused
 * by later runs while the spec is the same.
 */
export async function ensureZip(name: string, spec: TreeSpec): Promise<string> {
  const archive = join(dataDir, name);
  const specFile = `${archive}.spec.json`;
  const wanted = JSON.stringify(spec);
  if (existsSync(archive) && existsSync(specFile) && readFileSync(specFile, 'utf8') === wanted) return archive;
  progress(`generating ${name} (${spec.files} text files, ${Math.round((spec.blobBytes ?? 0) / 1e6)} MB of blobs)...`);
  const tree = scratch(`${name}.tree`);
  writeTextTree(tree, spec);
  rmSync(archive, { force: true });
  await run('zip', ['-q', '-r', '-y', archive, '.'], { cwd: tree });
  rmSync(tree, { recursive: true, force: true });
  writeFileSync(specFile, wanted);
  return archive;
}

/** File size in MiB. */
export function mib(path: string): number {
  return statSync(path).size / 2 ** 20;
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

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
