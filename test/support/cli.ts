import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { testdir, writeTree } from './tmp.js';

/**
 * Runs the built CLI (`bin/repo-deploy` -> `dist/cli.js`) in child processes for the
 * end-to-end tests, in temp-dir layouts, and reads back what it left: link targets, trees,
 * `status --json`, parsed pino log lines.
 */

/** The shim, found relative to this file so no machine path is written anywhere. */
export const binPath = fileURLToPath(new URL('../../bin/repo-deploy', import.meta.url));
const distCli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** One pino line of the agent's standard error. */
export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** How one run of the CLI ended. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Standard error's JSON lines, parsed (other lines are left out). */
  logs: LogLine[];
  durationMs: number;
}

/** Options for `runCli` / `spawnCli`. */
export interface CliOptions {
  /** Extra environment (REPO_DEPLOY_* of the test's own environment are always removed). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the run (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
}

function assertBuilt(): void {
  // Failing, never skipping: the test command builds dist before the tests run.
  if (!existsSync(distCli)) throw new Error('dist/cli.js is missing: build with `npx tsc -p tsconfig.json` first');
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REPO_DEPLOY_')) env[k] = v;
  return { ...env, ...extra };
}

/** Starts the CLI without waiting for it (for kill tests and the daemon). */
export function spawnCli(args: readonly string[], options: CliOptions = {}): ChildProcess {
  assertBuilt();
  return spawn(process.execPath, [binPath, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const started = Date.now();
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, logs: parseLogs(stderr), durationMs: Date.now() - started });
    });
  });
}

/** The JSON lines of a log text; anything else (plain CLI messages) is skipped. */
export function parseLogs(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // A line cut by a kill: not a log line.
    }
  }
  return out;
}

/** A deploy layout in a fresh temp dir: deploy dir, cache, hook dirs and a config file. */
export interface Layout {
  root: string;
  deployDir: string;
  /** `<deployDir>/current` */
  link: string;
  releasesDir: string;
  cache: string;
  pre: string;
  post: string;
  /** Config file passed with `-c` (empty by default), so the host's default is never read. */
  config: string;
  /** Common options, then REMOTE and LOCAL: `[...layout.args(remote), '-f']`. */
  args(remote: string): string[];
  /** `-f` once against `remote`. */
  fetch(remote: string, extra?: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** `status --json` for `remote`, parsed (the first app). */
  status(remote: string): Promise<AppStatusJson>;
  /** Release `current` points at (basename), or null when `current` is missing. */
  currentId(): string | null;
  /** Published release ids, sorted (staging leftovers excluded). */
  releases(): string[];
  /** Leftovers of interrupted runs: `.staging-*` in releases, `.current.tmp-*` beside current. */
  leftovers(): string[];
}

/** The part of `status --json` the tests read. */
export interface AppStatusJson {
  app: string;
  remote: string;
  link: string;
  linkState: string;
  current?: { id: string; version: string; status: string };
  previous?: { id: string; version: string; status: string };
  lastCheck?: { at: string; result: string; version?: string; error?: string };
  lastSuccessAt?: string;
  failing?: { version: string; failures: number; nextTryAt: string; reason: string };
  hold?: { releaseId: string; fromVersions: string[]; at: string };
  interrupted?: { releaseId: string };
  /** Set while the app's daemon runs older code than the installed files (issue 19). */
  restartNeeded?: { pid: number; since: string; files: string[] };
  lastHookOutput: string[];
  releases: { id: string; version: string; status: string }[];
}

/** Makes a layout under a new temp dir (removed when the test file ends). */
export function makeLayout(): Layout {
  const root = testdir();
  const deployDir = join(root, 'deploy');
  const layout: Layout = {
    root,
    deployDir,
    link: join(deployDir, 'current'),
    releasesDir: join(deployDir, 'releases'),
    cache: join(root, 'cache'),
    pre: join(root, 'pre-update.d'),
    post: join(root, 'post-update.d'),
    config: join(root, 'repo-deploy.cfg'),
    args: (remote) => ['-c', layout.config, '--cache', layout.cache, '--pre-hooks', layout.pre, '--post-hooks', layout.post, remote, layout.link],
    fetch: (remote, extra = [], options = {}) => runCli([...layout.args(remote), '-f', ...extra], { cwd: root, ...options }),
    async status(remote) {
      const r = await runCli(['status', '--json', ...layout.args(remote)], { cwd: root });
      if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as AppStatusJson[])[0]!;
    },
    currentId() {
      try {
        return readlinkSync(layout.link).replace(/^releases\//, '');
      } catch {
        return null;
      }
    },
    releases: () => listDir(layout.releasesDir).filter((n) => !n.startsWith('.')).sort(),
    leftovers: () => [
      ...listDir(layout.releasesDir).filter((n) => n.startsWith('.staging-')),
      ...listDir(deployDir).filter((n) => n.startsWith('.current.tmp-')),
    ],
  };
  for (const dir of [deployDir, layout.pre, layout.post]) mkdirSync(dir, { recursive: true });
  writeFileSync(layout.config, '');
  return layout;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every regular file under `dir`, relative path -> content (symlinks as `-> target`). */
export function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      const rel = relative(dir, path);
      if (entry.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
      else if (entry.isDirectory()) walk(path);
      else out[rel] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** True when `path` has any execute bit. */
export function isExecutable(path: string): boolean {
  return (statSync(path).mode & 0o111) !== 0;
}

/**
 * Writes an executable shell hook. Every hook made this way first appends
 * `NAME PHASE RELEASE REVERT` to `<root>/hooks.log` (read back with `hookRuns`), then runs `body`.
 */
export function writeHook(layout: Pick<Layout, 'root' | 'pre' | 'post'>, phase: 'pre' | 'post', name: string, body = '', mode = 0o755): string {
  const path = join(phase === 'pre' ? layout.pre : layout.post, name);
  const log = join(layout.root, 'hooks.log');
  writeFileSync(path, `#!/bin/sh\necho "${name} $REPO_DEPLOY_PHASE $REPO_DEPLOY_RELEASE $REPO_DEPLOY_REVERT" >> '${log}'\n${body}\n`, { mode });
  return path;
}

/** One line of `hooks.log`. */
export interface HookRun {
  name: string;
  phase: string;
  release: string;
  revert: string;
}

/** What the hooks written by `writeHook` recorded, in order. */
export function hookRuns(layout: Pick<Layout, 'root'>): HookRun[] {
  const path = join(layout.root, 'hooks.log');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [name = '', phase = '', release = '', revert = ''] = line.split(' ');
    return { name, phase, release, revert };
  });
}

/** Polls `test` every 20 ms until it is true, or throws after `timeoutMs` naming `what`. */
export async function waitFor(what: string | (() => string), test: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A CLI child running in the background (the daemon, or a run the test will kill). */
export interface Background {
  child: ChildProcess;
  /** Log lines so far. */
  logs: LogLine[];
  stderr(): string;
  stdout(): string;
  /** Waits for a log line matching `match` (already seen ones count). */
  waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit status. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the CLI in the background; it is SIGKILLed when the test file ends if still running. */
export function startBackground(args: readonly string[], options: CliOptions = {}): Background {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  let partial = '';
  const logs: LogLine[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    logs.push(...parseLogs(lines.join('\n')));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    stdout: () => stdout,
    async waitForLog(what, match, timeoutMs = 15_000) {
      await waitFor(() => `log line: ${what}\n--- stderr so far ---\n${stderr.slice(-3000)}`, () => logs.some(match), timeoutMs);
      return logs.find(match)!;
    },
    exited,
  };
}

/** One app of a multi-app layout; usable with `writeHook` and `hookRuns` (its own hooks.log). */
export interface AppLayout {
  name: string;
  /** `<root>/<name>`: holds the app's remote dir, hook dirs and hooks.log. */
  root: string;
  /** A local directory remote (`<root>/<name>/src`). */
  remote: string;
  deployDir: string;
  link: string;
  releasesDir: string;
  pre: string;
  post: string;
  /** Release `current` points at (basename), or null. */
  currentId(): string | null;
  /** Published release ids, sorted. */
  releases(): string[];
}

/** Several `[app NAME]` sections in one config file, each with its own remote, link and hooks. */
export interface AppsLayout {
  root: string;
  cache: string;
  config: string;
  apps: Record<string, AppLayout>;
  /**
   * Rewrites the config: `top` lines first (with `cache`), then one section per app holding its
   * remote, local and hook dirs plus `perApp[name]` lines.
   */
  writeConfig(top?: string, perApp?: Record<string, string>): void;
  /** `-c CONFIG` then `rest`, run in the root. */
  run(rest: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** `status --json`, parsed, by app name. */
  status(): Promise<Record<string, AppStatusJson>>;
}

/** Makes a multi-app layout in a new temp dir; every app's remote starts empty. */
export function makeAppsLayout(names: readonly string[]): AppsLayout {
  const root = testdir();
  const apps: Record<string, AppLayout> = {};
  for (const name of names) {
    const appRoot = join(root, name);
    const deployDir = join(root, 'deploy', name);
    const app: AppLayout = {
      name,
      root: appRoot,
      remote: join(appRoot, 'src'),
      deployDir,
      link: join(deployDir, 'current'),
      releasesDir: join(deployDir, 'releases'),
      pre: join(appRoot, 'pre-update.d'),
      post: join(appRoot, 'post-update.d'),
      currentId() {
        try {
          return readlinkSync(app.link).replace(/^releases\//, '');
        } catch {
          return null;
        }
      },
      releases: () => listDir(app.releasesDir).filter((n) => !n.startsWith('.')).sort(),
    };
    for (const dir of [app.remote, app.pre, app.post, deployDir]) mkdirSync(dir, { recursive: true });
    apps[name] = app;
  }
  const layout: AppsLayout = {
    root,
    cache: join(root, 'cache'),
    config: join(root, 'repo-deploy.cfg'),
    apps,
    writeConfig(top = '', perApp = {}) {
      const sections = Object.values(apps).map((a) =>
        [`[app ${a.name}]`, `remote = ${a.remote}`, `local = ${a.link}`, `pre-hooks = ${a.pre}`, `post-hooks = ${a.post}`, perApp[a.name] ?? ''].join('\n'),
      );
      writeFileSync(layout.config, `cache = ${layout.cache}\n${top}\n\n${sections.join('\n\n')}\n`);
    },
    run: (rest, options = {}) => runCli(['-c', layout.config, ...rest], { cwd: root, ...options }),
    async status() {
      const r = await layout.run(['status', '--json']);
      if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
      return Object.fromEntries((JSON.parse(r.stdout) as AppStatusJson[]).map((s) => [s.app, s]));
    },
  };
  layout.writeConfig();
  return layout;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a `listen =` the CLI binds itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One sample of the Prometheus text format. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples; throws on a line that is neither. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * Runs the CLI, again while it exits 75 (busy): an operator command racing a daemon's check for
 * the app's lock is told to try again, which is what an operator would do. Returns the last
 * result and how many busy answers came first.
 */
export async function runCliUntilFree(args: readonly string[], options: CliOptions = {}, tries = 20): Promise<CliResult & { busy: number }> {
  for (let busy = 0; ; busy++) {
    const result = await runCli(args, options);
    if (result.code !== 75 || busy + 1 >= tries) return { ...result, busy };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A layout whose remote is a local source directory holding `files` (at `<root>/src`). */
export function withSource(files: Record<string, string>): { layout: Layout; remote: string } {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, files);
  return { layout, remote };
}

/** True while process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
