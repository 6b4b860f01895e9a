// Generated workloads for the benchmark (issue 8): trees of source-like text files with a few
// incompressible blobs, as a git work tree or as a zip made by Info-ZIP `zip`. Reproducible, so
// a zip regenerated later holds the same bytes and figures stay comparable between runs.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dataDir, progress, run, scratch } from './lib.js';

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
