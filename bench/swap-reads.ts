// Swap benchmark (issue 8, DESIGN §5): a separate reader process reads through `current/` in a
// tight loop while this process swaps `current` between two releases with the library's own
// `ReleaseStore.swap`. Any failed read (ENOENT, ENOTDIR, ...) or torn content is a broken
// promise; the count must be 0.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseStore } from '../src/release/store.js';
import { progress, scratch } from './lib.js';

/** Options for `benchSwapReads`. */
export interface SwapBenchOptions {
  quick?: boolean;
  /** Swaps to make (default 1,000; quick 200). */
  swaps?: number;
}

/** What `benchSwapReads` measured. */
export interface SwapBenchResult {
  /** Reads that failed or saw content of neither release, or a pinned pair that disagreed. */
  swap_failed_reads: number;
  swap_count: number;
  swap_reads: number;
  swaps_per_second: number;
  /** Reads that saw each release: both must be non-zero for the count above to mean anything. */
  swap_reads_seen_a: number;
  swap_reads_seen_b: number;
  /**
   * Informational, not a failure: two files read one after the other through `current/` came
   * from different releases. Any symlink swap allows this; an app that needs two files to agree
   * resolves `current` once (realpath, or starting in it) and reads both from there.
   */
  swap_unpinned_pairs_mixed: number;
}

// Plain CommonJS for `node -e`, so the reader starts fast and depends on nothing of ours.
const readerSource = `
const fs = require('node:fs');
const [link, stopFile] = process.argv.slice(1);
const payloadOf = (v) => v.trim().repeat(2048);
const result = { reads: 0, failed: 0, seenA: 0, seenB: 0, unpinnedMixed: 0, errors: {} };
let announced = false;
for (;;) {
  for (let k = 0; k < 100; k++) {
    result.reads++;
    try {
      const v = fs.readFileSync(link + '/version.txt', 'utf8');
      if (v === 'A\\n') result.seenA++;
      else if (v === 'B\\n') result.seenB++;
      else { result.failed++; result.errors.torn = (result.errors.torn || 0) + 1; }
      if (fs.readFileSync(link + '/payload.txt', 'utf8') !== payloadOf(v)) result.unpinnedMixed++;
      const real = fs.realpathSync(link);
      const a = fs.readFileSync(real + '/version.txt', 'utf8');
      if (fs.readFileSync(real + '/payload.txt', 'utf8') !== payloadOf(a)) {
        result.failed++;
        result.errors.pinnedMixed = (result.errors.pinnedMixed || 0) + 1;
      }
    } catch (error) {
      result.failed++;
      result.errors[error.code || 'other'] = (result.errors[error.code || 'other'] || 0) + 1;
    }
  }
  if (!announced) { process.stdout.write('ready\\n'); announced = true; }
  if (fs.existsSync(stopFile)) break;
}
process.stdout.write(JSON.stringify(result) + '\\n');
`;

interface ReaderResult {
  reads: number;
  failed: number;
  seenA: number;
  seenB: number;
  unpinnedMixed: number;
  errors: Record<string, number>;
}

/** Makes releases A and B, starts the reader, swaps `swaps` times, and collects its counts. */
export async function benchSwapReads(options: SwapBenchOptions = {}): Promise<SwapBenchResult> {
  const swaps = options.swaps ?? (options.quick ? 200 : 1000);
  const deployDir = scratch('swap');
  const store = new ReleaseStore({ deployDir, link: join(deployDir, 'current') });
  for (const id of ['A', 'B']) {
    const dir = store.pathOf(id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'version.txt'), `${id}\n`);
    writeFileSync(join(dir, 'payload.txt'), id.repeat(2048));
  }
  await store.swap('A');
  const stopFile = join(deployDir, 'stop');
  const reader = spawn(process.execPath, ['-e', readerSource, store.link, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    reader.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    reader.on('exit', (code) => reject(new Error(`swap reader exited ${code} before it was ready`)));
  });
  const finished = new Promise<ReaderResult>((resolve, reject) => {
    reader.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as ReaderResult);
      else reject(new Error(`swap reader exited ${code}: ${out.trim()}`));
    });
  });
  await ready;
  const start = process.hrtime.bigint();
  for (let i = 0; i < swaps; i++) await store.swap(i % 2 === 0 ? 'B' : 'A');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  writeFileSync(stopFile, '');
  const seen = await finished;
  if (seen.seenA === 0 || seen.seenB === 0) progress(`warning: the swap reader saw only one release (A ${seen.seenA}, B ${seen.seenB}): the count proves little`);
  progress(
    `swap reads: ${swaps} swaps in ${seconds.toFixed(2)} s, ${seen.reads} reads (A ${seen.seenA}, B ${seen.seenB}), failed ${seen.failed} ${JSON.stringify(seen.errors)}, unpinned pairs mixed ${seen.unpinnedMixed}`,
  );
  return {
    swap_failed_reads: seen.failed,
    swap_count: swaps,
    swap_reads: seen.reads,
    swaps_per_second: Math.round(swaps / seconds),
    swap_reads_seen_a: seen.seenA,
    swap_reads_seen_b: seen.seenB,
    swap_unpinned_pairs_mixed: seen.unpinnedMixed,
  };
}
