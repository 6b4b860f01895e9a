// Extraction benchmark (issue 8): our streaming extractor against `unzip -q` on the same
// archives, wall time (best of N, alternating) and peak RSS, for a big archive and one a
// quarter of its size. Usage: node --import tsx bench/extract.ts [--quick] [--runs N]
// The last line printed is one JSON object (see `ExtractBenchResult`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { withContention } from './contention.js';

/** Options for `benchExtract`. */
export interface ExtractBenchOptions {
  /** About 100 MB / 2,500 files instead of 800 MB / 20,000 files. */
  quick?: boolean;
  /** Timed runs per tool and archive; the best one counts (default 3, 2 for the full size). */
  runs?: number;
  /** Progress and table lines (default: standard error). */
  log?: (line: string) => void;
}

/** What `benchExtract` measured. Seconds are the best run; RSS is the peak over all runs. */
export interface ExtractBenchResult {
  extract_ratio_vs_unzip: number;
  extract_seconds: number;
  unzip_seconds: number;
  extract_peak_rss_mib: number;
  extract_peak_rss_mib_small: number;
  /** Peak RSS on the full archive while other processes saturate every core and write to the same disk. */
  extract_peak_rss_mib_contended: number;
  /** Best extraction time under that contention. */
  extract_seconds_contended: number;
  extract_ratio_vs_unzip_small: number;
  extract_seconds_small: number;
  unzip_seconds_small: number;
  unzip_peak_rss_mib: number;
  /** RSS of the extractor's process (plain node, compiled JS) before it starts extracting. */
  extract_baseline_rss_mib: number;
  archive_mib: number;
  archive_files: number;
}

const dataDir = join(dirname(fileURLToPath(import.meta.url)), '.data');

/** Generates the archives when missing, then times both extractors on both. */
export async function benchExtract(options: ExtractBenchOptions = {}): Promise<ExtractBenchResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quick = options.quick ?? false;
  mkdirSync(dataDir, { recursive: true });
  const full = { bytes: quick ? 100e6 : 800e6, files: quick ? 2500 : 20000 };
  const big = await ensureArchive(`extract-${full.files}.zip`, full.bytes, full.files, log);
  const small = await ensureArchive(`extract-${full.files / 4}.zip`, full.bytes / 4, full.files / 4, log);
  const runs = options.runs ?? (quick ? 3 : 2);
  const module = await compileExtractor();
  const a = await compare(big, runs, module, log);
  const b = await compare(small, runs, module, log);
  const contended = await withContention(dataDir, () => oursOnly(big, runs, module, log));
  rmSync(join(dataDir, 'out'), { recursive: true, force: true });
  const row = (name: string, r: Comparison) =>
    `${name.padEnd(8)} ${r.unzip.seconds.toFixed(2).padStart(9)} ${r.ours.seconds.toFixed(2).padStart(9)} ${(r.ours.seconds / r.unzip.seconds).toFixed(2).padStart(6)} ${r.unzip.rssMiB.toFixed(0).padStart(10)} ${r.ours.rssMiB.toFixed(0).padStart(9)}`;
  log(`archive   unzip (s)   ours (s)  ratio  unzip MiB  ours MiB`);
  log(row('full', a));
  log(row('quarter', b));
  log(`full, contended (every core busy, another writer on the disk): ours ${contended.seconds.toFixed(2)} s, ${contended.rssMiB.toFixed(0)} MiB`);
  log(`(ours: extraction time inside the process; its RSS before extracting: ${a.ours.baselineMiB.toFixed(0)} MiB)`);
  return {
    extract_ratio_vs_unzip: round(a.ours.seconds / a.unzip.seconds),
    extract_seconds: round(a.ours.seconds),
    unzip_seconds: round(a.unzip.seconds),
    extract_peak_rss_mib: round(a.ours.rssMiB),
    extract_peak_rss_mib_small: round(b.ours.rssMiB),
    extract_peak_rss_mib_contended: round(contended.rssMiB),
    extract_seconds_contended: round(contended.seconds),
    extract_ratio_vs_unzip_small: round(b.ours.seconds / b.unzip.seconds),
    extract_seconds_small: round(b.ours.seconds),
    unzip_seconds_small: round(b.unzip.seconds),
    unzip_peak_rss_mib: round(Math.max(a.unzip.rssMiB, b.unzip.rssMiB)),
    extract_baseline_rss_mib: round(a.ours.baselineMiB),
    archive_mib: round(statSync(big).size / 2 ** 20),
    archive_files: full.files,
  };
}

interface Run {
  seconds: number;
  rssMiB: number;
  baselineMiB: number;
}
interface Comparison {
  unzip: Run;
  ours: Run;
}

/** Alternates unzip and ours `runs` times on `archive`; best time, highest peak RSS. */
async function compare(archive: string, runs: number, module: string, log: (line: string) => void): Promise<Comparison> {
  const best = (all: Run[]): Run => ({
    seconds: Math.min(...all.map((r) => r.seconds)),
    rssMiB: Math.max(...all.map((r) => r.rssMiB)),
    baselineMiB: Math.max(...all.map((r) => r.baselineMiB)),
  });
  const unzip: Run[] = [];
  const ours: Run[] = [];
  const out = join(dataDir, 'out');
  for (let i = 0; i < runs; i++) {
    rmSync(out, { recursive: true, force: true });
    unzip.push(await timeUnzip(archive, out));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    ours.push(await timeOurs(archive, out, module));
    log(`${archive.split('/').pop()} run ${i + 1}: unzip ${unzip.at(-1)!.seconds.toFixed(2)} s, ours ${ours.at(-1)!.seconds.toFixed(2)} s`);
  }
  rmSync(out, { recursive: true, force: true });
  return { unzip: best(unzip), ours: best(ours) };
}

/** Ours alone, `runs` times on `archive`: best time, highest peak RSS. */
async function oursOnly(archive: string, runs: number, module: string, log: (line: string) => void): Promise<Run> {
  const all: Run[] = [];
  const out = join(dataDir, 'out');
  for (let i = 0; i < runs; i++) {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    all.push(await timeOurs(archive, out, module));
    log(`${archive.split('/').pop()} contended run ${i + 1}: ours ${all.at(-1)!.seconds.toFixed(2)} s, ${all.at(-1)!.rssMiB.toFixed(0)} MiB`);
  }
  // The last tree is left for the caller to remove once the contention has stopped.
  return { seconds: Math.min(...all.map((r) => r.seconds)), rssMiB: Math.max(...all.map((r) => r.rssMiB)), baselineMiB: 0 };
}

function timeUnzip(archive: string, out: string): Promise<Run> {
  const start = process.hrtime.bigint();
  const child = spawn('unzip', ['-q', archive, '-d', out], { stdio: 'inherit' });
  // unzip cannot report its own peak, so sample VmHWM (a high-water mark, never decreasing).
  let hwm = 0;
  const timer = setInterval(() => (hwm = Math.max(hwm, vmHwmMiB(child.pid!))), 5);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`unzip exited ${code} on ${archive}`));
      else resolve({ seconds, rssMiB: hwm, baselineMiB: 0 });
    });
  });
}

function vmHwmMiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Compiles the extractor with tsc into `bench/.data/extract-dist`: the child runs plain JavaScript, as
 * the agent does in production (through tsx the process starts 30+ MiB bigger).
 */
function compileExtractor(): Promise<string> {
  const root = join(dataDir, '..', '..');
  const outDir = join(dataDir, 'extract-dist');
  rmSync(outDir, { recursive: true, force: true });
  const args = ['--outDir', outDir, '--rootDir', join(root, 'src'), '--module', 'nodenext', '--moduleResolution', 'nodenext'];
  args.push('--target', 'es2022', '--skipLibCheck', '--types', 'node', join(root, 'src/extract/zip.ts'));
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, ...args], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(join(outDir, 'extract/zip.js')) : reject(new Error(`tsc exited ${code}`))));
  });
}

/** The child's side, as plain JavaScript: extract once, print time and peak RSS as JSON. */
const childScript = `
const [module, archive, out] = process.argv.slice(1);
const { extractZip } = await import(module);
const baselineMiB = process.memoryUsage().rss / 2 ** 20;
const start = process.hrtime.bigint();
await extractZip(archive, out, { limits: { maxArchiveBytes: 2 ** 50, maxUnpackedBytes: 2 ** 50, maxEntries: 1e7 } });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ seconds, rssMiB: process.resourceUsage().maxRSS / 1024, baselineMiB }));
`;

/** Runs the extractor in a fresh child process so its peak RSS is its own. */
function timeOurs(archive: string, out: string, module: string): Promise<Run> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript, pathToFileURL(module).href, archive, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as Run) : reject(new Error(`extractor exited ${code} on ${archive}`))));
  });
}

/**
 * Builds `name` with Info-ZIP `zip` (what most pipelines use) from a generated tree: mostly
 * 1–8 KiB text files, plus a few large incompressible ones holding the rest of the bytes.
 */
export async function ensureArchive(name: string, bytes: number, files: number, log: (line: string) => void): Promise<string> {
  const archive = join(dataDir, name);
  if (existsSync(archive)) return archive;
  log(`generating ${name} (${Math.round(bytes / 1e6)} MB, ${files} files)...`);
  const tree = join(dataDir, `tree-${files}`);
  rmSync(tree, { recursive: true, force: true });
  const large = Math.max(2, Math.round(files / 2000));
  const corpus = textCorpus();
  let smallBytes = 0;
  const made = new Set<string>();
  for (let i = 0; i < files - large; i++) {
    const path = join(tree, `d${i % 50}`, `s${Math.floor(i / 1000)}`, `file-${i}.txt`);
    if (!made.has(dirname(path))) mkdirSync(dirname(path), { recursive: true });
    made.add(dirname(path));
    const length = 1024 + Math.floor(Math.random() * 7 * 1024);
    const at = Math.floor(Math.random() * (corpus.length - length));
    writeFileSync(path, corpus.subarray(at, at + length), { mode: i % 10 === 0 ? 0o755 : 0o644 });
    smallBytes += length;
  }
  const each = Math.max(1, Math.floor((bytes - smallBytes) / large));
  mkdirSync(join(tree, 'assets'), { recursive: true });
  for (let i = 0; i < large; i++) {
    const chunks: Buffer[] = [];
    for (let done = 0; done < each; done += 2 ** 20) chunks.push(randomBytes(Math.min(2 ** 20, each - done)));
    writeFileSync(join(tree, 'assets', `blob-${i}.bin`), Buffer.concat(chunks));
  }
  await new Promise<void>((resolve, reject) => {
    const zip = spawn('zip', ['-q', '-r', '-y', `${archive}.tmp`, '.'], { cwd: tree, stdio: 'inherit' });
    zip.on('error', reject);
    zip.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`zip exited ${code}`))));
  });
  renameSync(`${archive}.tmp`, archive);
  rmSync(tree, { recursive: true, force: true });
  return archive;
}

/** 1 MiB of source-like text: compresses about as well as real code and docs. */
function textCorpus(): Buffer {
  const words = 'const let function return import export from await async if else for while new this true false null undefined value result error config release remote'.split(' ');
  const lines: string[] = [];
  let size = 0;
  while (size < 2 ** 20) {
    const n = 3 + Math.floor(Math.random() * 10);
    const line = `${' '.repeat(2 * Math.floor(Math.random() * 4))}${Array.from({ length: n }, () => words[Math.floor(Math.random() * words.length)]).join(' ')};${Math.floor(Math.random() * 1e6)}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

const round = (n: number) => Math.round(n * 100) / 100;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const result = await benchExtract({ quick: args.includes('--quick'), ...(runsAt >= 0 ? { runs: Number(args[runsAt + 1]) } : {}) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
